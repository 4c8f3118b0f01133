// Small SVG drawing: elements, and a layered layout for graphs (each node in the
// column of its longest path from a source, rows in order of arrival).

const NS = "http://www.w3.org/2000/svg";

export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "href") el.setAttribute("href", value);
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// nodes: [{id}], edges: [[from, to]] (from is drawn left of to). Returns id -> {col,row}.
export function layers(nodes, edges) {
  const incoming = new Map(nodes.map((n) => [n.id, []]));
  for (const [from, to] of edges) incoming.get(to)?.push(from);
  const col = new Map();
  const depth = (id, seen = new Set()) => {
    if (col.has(id)) return col.get(id);
    if (seen.has(id)) return 0;
    seen.add(id);
    const d = Math.max(-1, ...incoming.get(id).map((p) => depth(p, seen))) + 1;
    col.set(id, d);
    return d;
  };
  nodes.forEach((n) => depth(n.id));
  const rows = new Map();
  const place = new Map();
  for (const n of nodes) {
    const c = col.get(n.id);
    const r = rows.get(c) ?? 0;
    rows.set(c, r + 1);
    place.set(n.id, { col: c, row: r });
  }
  return place;
}

export function clipText(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}
