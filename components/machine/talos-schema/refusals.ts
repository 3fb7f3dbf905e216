/**
 * Values the upstream schema allows but every node refuses when it validates the config (machinery
 * v1.13.0; the same in v1.12.0). The schema is structure only; these are the refusals a single patch
 * document can already show. Refusals that need the whole config are in machine/combinations.ts.
 */
import { formatPath, isPlainObject, type Reporter } from "./report";
import { V1ALPHA1_CONFIG } from "./types";

export function reportRefusedValues(doc: Record<string, unknown>, defName: string, report: Reporter): void {
  if (defName === V1ALPHA1_CONFIG) {
    const machine = isPlainObject(doc.machine) ? doc.machine : {};
    const install = isPlainObject(machine.install) ? machine.install : {};
    const selector = isPlainObject(install.diskSelector) ? install.diskSelector : {};
    if (selector.name !== undefined) {
      // config/types/v1alpha1/v1alpha1_provider.go DiskMatchExpression.
      const path = ["machine", "install", "diskSelector", "name"];
      report.error(
        path,
        `${formatPath(path)} is refused by every Talos node ("install disk selector is invalid: selector on name is not supported"): select the disk by busPath, model, serial, wwid, size or type, or set machine.install.disk to its path`,
      );
    }
  }
  if (
    doc.kind === "HostnameConfig" &&
    doc.hostname !== undefined &&
    doc.auto !== undefined &&
    doc.auto !== "off"
  ) {
    // config/types/network/hostname.go Validate.
    report.error(
      "auto",
      `auto: ${String(doc.auto)} beside a hostname is refused by Talos ("'auto' and 'hostname' cannot be set at the same time"): keep the hostname (with auto: off) or the automatic one`,
    );
  }
}
