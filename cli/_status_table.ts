/**
 * Renders the cluster view (`GET /v1/cluster`'s document) as a table for a terminal.
 * @module
 */

type Row = Record<string, unknown>;

function text(value: unknown): string {
  if (value === null || value === undefined) return "-";
  return String(value);
}

function bytes(value: unknown): string {
  if (typeof value !== "number") return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit++;
  }
  return unit === 0 ? `${size} B` : `${size.toFixed(1)} ${units[unit]}`;
}

/** The table of one cluster view: a header line, one row per node, then unreachable reasons. */
export function clusterTable(view: Row): string {
  const leader = view.leader as { name?: string; rpcAddr?: string } | null;
  const nodes = Array.isArray(view.nodes) ? view.nodes as Row[] : [];
  const header = [
    "NAME",
    "RPC",
    "ROLE",
    "SUFFRAGE",
    "TERM",
    "COMMIT",
    "LAG",
    "FIRST",
    "LAST",
    "SIZE",
  ];
  const rows = nodes.map((node) => {
    const log = node.log as { firstOffset?: number; nextOffset?: number; bytes?: number } | null;
    const next = log?.nextOffset;
    const first = log?.firstOffset;
    // The last offset is next - 1; an empty log has none.
    const last = typeof next === "number" && typeof first === "number" && next > first
      ? next - 1
      : null;
    return [
      text(node.name),
      text(node.rpcAddr),
      node.reachable === false ? "unreachable" : text(node.role),
      text(node.suffrage),
      text(node.term),
      text(node.commitIndex),
      text(node.lag),
      text(log ? first : null),
      text(last),
      bytes(log?.bytes),
    ];
  });
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i]!.length))
  );
  const line = (cells: string[]) =>
    cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd();
  const leaderText = leader ? `${leader.name} (${leader.rpcAddr})` : "none (election under way?)";
  const lines = [`Leader: ${leaderText}   Term: ${text(view.term)}`, "", line(header)];
  lines.push(...rows.map(line));
  const unreachable = nodes.filter((node) => node.reachable === false);
  if (unreachable.length > 0) lines.push("");
  for (const node of unreachable) lines.push(`${text(node.name)}: ${text(node.error)}`);
  return lines.join("\n");
}
