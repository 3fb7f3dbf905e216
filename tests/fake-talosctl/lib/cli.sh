# shellcheck shell=bash
# Command-line parsing of the fake talosctl, as strict as the real one: talosctl is a cobra program
# (spf13/cobra Command.Find/stripFlags to pick the subcommand, spf13/pflag FlagSet.Parse for its flags), and
# the flag set of each command is read from talosctl-help.txt, the real talosctl 1.13.9 `--help` output (see
# its header). Errors are worded as cobra/pflag word them and printed as talosctl's cmd.Execute prints them
# (talos@v1.13.9 cmd/talosctl/cmd/root.go: the error, then the usage when it mentions "arg(s)", "flag" or
# "command"), exit status 1 (cmd/talosctl/main.go). Plain bash 3.2: no associative arrays.

HELP_FIXTURE="${BASH_SOURCE[0]%/*}/../talosctl-help.txt"

# The commands the fake emulates (cobra's command tree, as far as the scripts use it).
KNOWN_COMMANDS=" version upgrade get upgrade-k8s etcd etcd/snapshot reboot "

# Exits like talosctl's Execute with error $1 (stderr, usage for argument errors, status 1).
cobra_fail() {
  printf '%s\n' "$1" >&2
  case $1 in
  *"arg(s)"* | *flag* | *command*)
    if [[ -n ${COMMAND:-} ]]; then
      printf '\n' >&2
      usage_of "$COMMAND" >&2
    fi
    ;;
  esac
  exit 1
}

# The "Usage:" part of COMMAND's help (what cobra's UsageString prints).
usage_of() {
  awk -v want="### talosctl $1 --help" '
    /^### / { inside = ($0 == want); usage = 0; next }
    inside && /^Usage:/ { usage = 1 }
    inside && usage { print }' "$HELP_FIXTURE"
}

# Reads COMMAND's flags from the fixture into FLAG_TABLE, one "long short type values default" line per flag
# (type "bool" for flags without a value, "-" for no shorthand, no value list or no default), and its usage
# line into USAGE.
load_flags() {
  local want="### talosctl $1 --help" line inside=0 section="" short long type rest values default
  local re='^  (-(.), |    )--([A-Za-z0-9][A-Za-z0-9-]*)( ([A-Za-z0-9]+))?( {2,}(.*))?$'
  FLAG_TABLE="" USAGE=""
  while IFS= read -r line; do
    if [[ $line == "### "* ]]; then
      if ((inside)); then break; fi
      [[ $line != "$want" ]] || inside=1
      continue
    fi
    ((inside)) || continue
    case $line in
    Usage:) section=usage && continue ;;
    Flags: | "Global Flags:") section=flags && continue ;;
    "") section="" && continue ;;
    esac
    if [[ $section == usage ]]; then
      USAGE=${line#  }
      section=""
    elif [[ $section == flags && $line =~ $re ]]; then
      short=${BASH_REMATCH[2]:--} long=${BASH_REMATCH[3]} type=${BASH_REMATCH[5]:-bool} rest=${BASH_REMATCH[7]}
      values=- default=-
      if [[ $rest =~ Values:\ \[([^]]*)\] ]]; then values=${BASH_REMATCH[1]// /,}; fi
      if [[ $rest =~ \(default\ \"?([^\"\)]*)\"?\)$ ]]; then default=${BASH_REMATCH[1]}; fi
      FLAG_TABLE+="$long $short $type $values $default"$'\n'
    fi
  done <"$HELP_FIXTURE"
  [[ -n $USAGE ]] || fake_bug "no help for 'talosctl $1' in $HELP_FIXTURE"
  # Flags hidden from --help, so absent from the fixture, that talosctl still accepts: upgrade's deprecated
  # legacy flags (talos@v1.13.9 cmd/talosctl/cmd/talos/upgrade.go L377-384, MarkDeprecated) and version's
  # --json (version.go L116-117, MarkHidden). DEPRECATED lists the ones pflag warns about.
  DEPRECATED=""
  case $1 in
  upgrade)
    FLAG_TABLE+=$'force f bool - false\ninsecure - bool - false\npreserve p bool - false\nstage s bool - false\n'
    DEPRECATED=" force insecure preserve stage "
    ;;
  version) FLAG_TABLE+=$'json - bool - false\n' ;;
  esac
}

# Sets FLAG_LONG/FLAG_SHORT/FLAG_TYPE/FLAG_VALUES for a long name or a one-letter shorthand; 1 if COMMAND has no such
# flag.
find_flag() {
  local key=$1 long short type values _default
  while read -r long short type values _default; do
    [[ -n $long ]] || continue
    if [[ $key == "$long" || $key == "$short" ]]; then
      FLAG_LONG=$long FLAG_SHORT=$short FLAG_TYPE=$type FLAG_VALUES=$values
      return 0
    fi
  done <<<"$FLAG_TABLE"
  return 1
}

# Checks VALUE for the flag found last, as pflag's Value.Set would (strconv.ParseBool, time.ParseDuration,
# talos pkg/flags ProtoEnum for "Values: [...]" flags); NAME is how the flag was written.
check_value() {
  local name=$1 value=$2 unit
  local dur='^[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$'
  case $FLAG_TYPE in
  bool)
    case $value in
    1 | t | T | TRUE | true | True | 0 | f | F | FALSE | false | False) ;;
    *) cobra_fail "invalid argument \"$value\" for \"$name\" flag: strconv.ParseBool: parsing \"$value\": invalid syntax" ;;
    esac
    ;;
  duration)
    if [[ $value != 0 && ! $value =~ $dur ]]; then
      if [[ $value =~ ^[-+]?[0-9.]+$ ]]; then
        cobra_fail "invalid argument \"$value\" for \"$name\" flag: time: missing unit in duration \"$value\""
      elif [[ $value =~ ^[-+]?[0-9.]+([^0-9.]+)$ ]]; then
        unit=${BASH_REMATCH[1]}
        cobra_fail "invalid argument \"$value\" for \"$name\" flag: time: unknown unit \"$unit\" in duration \"$value\""
      fi
      cobra_fail "invalid argument \"$value\" for \"$name\" flag: time: invalid duration \"$value\""
    fi
    ;;
  esac
  if [[ $FLAG_VALUES != - && ",$FLAG_VALUES," != *",$value,"* ]]; then
    cobra_fail "invalid argument \"$value\" for \"$name\" flag: must be one of [${FLAG_VALUES//,/ }]"
  fi
}

# Records a parsed flag in FLAGV_<name> (dashes as underscores; a bool as true/false), the last one winning as
# pflag overwrites. pflag warns on stderr when a deprecated flag is used (FlagSet.Set: "Flag --%s has been
# deprecated, %s").
set_flag() {
  local value=$2
  if [[ $FLAG_TYPE == bool ]]; then
    case $value in
    1 | t | T | TRUE | true | True) value=true ;;
    *) value=false ;;
    esac
  fi
  printf -v "FLAGV_${1//-/_}" '%s' "$value"
  if [[ $DEPRECATED == *" $1 "* ]]; then
    printf 'Flag --%s has been deprecated, legacy flag for MachineService.Upgrade fallback, to be removed in Talos 1.18\n' "$1" >&2
  fi
}

# Sets FLAGV_<name> of every flag of the command to its default from the fixture ("" for none; false for a
# bool without one), before the command line overrides them.
set_defaults() {
  local long short type values default
  while read -r long short type values default; do
    [[ -n $long ]] || continue
    if [[ $default == - ]]; then
      default=""
      if [[ $type == bool ]]; then default=false; fi
    fi
    printf -v "FLAGV_${long//-/_}" '%s' "$default"
  done <<<"$FLAG_TABLE"
}

# The value of flag $1 (given, or its default) in REPLY.
flag() {
  local var="FLAGV_${1//-/_}"
  [[ -n ${!var+set} ]] || fake_bug "'talosctl $COMMAND' has no flag --$1"
  REPLY=${!var}
}

# True when bool flag $1 is on.
flag_on() {
  flag "$1"
  [[ $REPLY == true ]]
}

# Parses "$@" the way cobra does: COMMAND (e.g. "etcd snapshot"), FLAGV_* (see flag), ARGS (positional
# arguments).
parse_command_line() {
  local -a words=() rest=()
  local a i name value key
  # cobra's stripFlags: a "--flag" without "=" or a lone "-f" may take the next word as its value, so that
  # word is never a subcommand; the first other words walk down the command tree.
  COMMAND=""
  for ((i = 1; i <= $#; i++)); do
    a=${!i}
    case $a in
    --) break ;;
    --*=* | -?=*) ;;
    --* | -?) ((i += 1)) ;;
    -*) ;;
    *)
      if [[ $KNOWN_COMMANDS == *" ${COMMAND:+${COMMAND// //}/}$a "* ]]; then
        COMMAND="${COMMAND:+$COMMAND }$a"
        words+=("$i")
      elif [[ -z $COMMAND ]]; then
        cobra_fail "unknown command \"$a\" for \"talosctl\""
      else
        break
      fi
      ;;
    esac
  done
  [[ -n $COMMAND ]] || fake_bug "talosctl without a command"
  load_flags "$COMMAND"
  # pflag parses every other word against the command's flag set.
  for ((i = 1; i <= $#; i++)); do
    [[ " ${words[*]} " != *" $i "* ]] || continue
    rest+=("${!i}")
  done
  set_defaults
  ARGS=()
  for ((i = 0; i < ${#rest[@]}; i++)); do
    a=${rest[i]}
    case $a in
    --)
      ARGS+=("${rest[@]:i+1}")
      break
      ;;
    --*)
      name=${a%%=*}
      key=${name#--}
      if ! find_flag "$key" || ((${#key} < 2)); then cobra_fail "unknown flag: $name"; fi
      if [[ $a == *=* ]]; then
        value=${a#*=}
      elif [[ $FLAG_TYPE == bool ]]; then
        value=true
      elif ((i + 1 < ${#rest[@]})); then
        value=${rest[i + 1]}
        ((i += 1))
      else
        cobra_fail "flag needs an argument: $name"
      fi
      # pflag FlagSet.Set names the flag "-s, --long" in the error whenever it has a shorthand.
      if [[ $FLAG_SHORT != - ]]; then name="-$FLAG_SHORT, --$FLAG_LONG"; fi
      check_value "$name" "$value"
      set_flag "$FLAG_LONG" "$value"
      ;;
    -?*)
      key=${a:1:1}
      if ! find_flag "$key" || [[ $FLAG_LONG == "$key" ]]; then cobra_fail "unknown shorthand flag: '$key' in $a"; fi
      if [[ $a == -?=* ]]; then
        value=${a:3}
      elif [[ ${#a} -gt 2 ]]; then
        [[ $FLAG_TYPE != bool ]] || cobra_fail "unknown shorthand flag: '${a:2:1}' in $a"
        value=${a:2}
      elif [[ $FLAG_TYPE == bool ]]; then
        value=true
      elif ((i + 1 < ${#rest[@]})); then
        value=${rest[i + 1]}
        ((i += 1))
      else
        cobra_fail "flag needs an argument: '$key' in -$key"
      fi
      check_value "-$key, --$FLAG_LONG" "$value"
      set_flag "$FLAG_LONG" "$value"
      ;;
    *) ARGS+=("$a") ;;
    esac
  done
  check_arg_count
}

# The positional-argument rule in the usage line ("talosctl get <type> [<id>] [flags]": cobra.RangeArgs(1, 2);
# no arguments named: cobra.NoArgs), checked as cobra's Args validators word it.
check_arg_count() {
  local word min=0 max=0 n=${#ARGS[@]}
  for word in $USAGE; do
    case $word in
    "<"*">") ((min += 1, max += 1)) ;;
    "[<"*">]") ((max += 1)) ;;
    esac
  done
  if ((max == 0)); then
    ((n == 0)) || cobra_fail "unknown command \"${ARGS[0]}\" for \"talosctl $COMMAND\""
  elif ((min == max && n != min)); then
    cobra_fail "accepts $min arg(s), received $n"
  elif ((n < min || n > max)); then
    cobra_fail "accepts between $min and $max arg(s), received $n"
  fi
}
