/**
 * A small layered (Sugiyama-style) graph layout, top to bottom, for the architecture diagram:
 *   1. ranks by longest path from the sources;
 *   2. an edge spanning several ranks gets a thin dummy item per rank in between, so that a ResNet shortcut
 *      becomes a lane of its own beside the main path;
 *   3. order within a rank by barycenter sweeps (start: call order, so branches keep the order of the code);
 *   4. x by isotonic regression (pool adjacent violators): each item as close as possible to the mean of its
 *      neighbours in the previous (then next) rank, keeping order and spacing.
 * Items are boxes of known size; coordinates are relative to the layout's top-left corner.
 */

export interface Box {
  id: string;
  w: number;
  h: number;
  /** Set by the layout. */
  x: number;
  y: number;
  rank: number;
  dummy: boolean;
}

export interface Edge {
  from: string;
  to: string;
}

export interface RoutedEdge extends Edge {
  /** Box ids the edge passes through: from, dummies..., to. */
  path: string[];
}

export interface Layout {
  w: number;
  h: number;
  boxes: Map<string, Box>;
  edges: RoutedEdge[];
  /** Box ids per rank, in order. */
  ranks: string[][];
}

export const GAP_X = 14;
export const GAP_Y = 15;
const DUMMY_W = 10;

/** Ranks and dummies; `boxes` in a topological order (producers first). */
export function rankGraph(boxes: Omit<Box, 'x' | 'y' | 'rank' | 'dummy'>[], edges: Edge[]): Layout {
  const map = new Map<string, Box>(boxes.map((b) => [b.id, { ...b, x: 0, y: 0, rank: 0, dummy: false }]));
  const preds = new Map<string, string[]>();
  for (const e of edges) preds.set(e.to, [...(preds.get(e.to) ?? []), e.from]);
  for (const b of boxes) {
    const p = preds.get(b.id) ?? [];
    map.get(b.id)!.rank = p.length === 0 ? 0 : 1 + Math.max(...p.map((q) => map.get(q)!.rank));
  }
  const depth = Math.max(0, ...[...map.values()].map((b) => b.rank));
  const ranks: string[][] = Array.from({ length: depth + 1 }, () => []);
  for (const b of boxes) ranks[map.get(b.id)!.rank].push(b.id);
  const routed: RoutedEdge[] = edges.map((e, k) => {
    const a = map.get(e.from)!;
    const b = map.get(e.to)!;
    const path = [e.from];
    for (let r = a.rank + 1; r < b.rank; r++) {
      const id = `~${k}.${r}`;
      map.set(id, { id, w: DUMMY_W, h: 0, x: 0, y: 0, rank: r, dummy: true });
      ranks[r].push(id);
      path.push(id);
    }
    path.push(e.to);
    return { ...e, path };
  });
  return { w: 0, h: 0, boxes: map, edges: routed, ranks };
}

/** Neighbours of every box in the rank above (up) and below (down), through routed paths. */
function neighbours(l: Layout): { up: Map<string, string[]>; down: Map<string, string[]> } {
  const up = new Map<string, string[]>();
  const down = new Map<string, string[]>();
  for (const e of l.edges) {
    for (let i = 1; i < e.path.length; i++) {
      up.set(e.path[i], [...(up.get(e.path[i]) ?? []), e.path[i - 1]]);
      down.set(e.path[i - 1], [...(down.get(e.path[i - 1]) ?? []), e.path[i]]);
    }
  }
  return { up, down };
}

/** Barycenter ordering, then coordinates. `rankRange` lays out only those ranks (a column of a wrapped layout). */
export function placeGraph(l: Layout, rankRange: [number, number] = [0, l.ranks.length - 1]): void {
  const { up, down } = neighbours(l);
  const ranks = l.ranks.slice(rankRange[0], rankRange[1] + 1);
  const index = new Map<string, number>();
  ranks.forEach((r) => r.forEach((id, i) => index.set(id, i)));
  const sortBy = (r: string[], nb: Map<string, string[]>): void => {
    const key = new Map(r.map((id, i) => {
      const ns = (nb.get(id) ?? []).filter((n) => index.has(n));
      return [id, ns.length ? ns.reduce((a, n) => a + index.get(n)!, 0) / ns.length : i];
    }));
    r.sort((a, b) => key.get(a)! - key.get(b)!);
    r.forEach((id, i) => index.set(id, i));
  };
  for (let it = 0; it < 4; it++) {
    for (let r = 1; r < ranks.length; r++) sortBy(ranks[r], up);
    for (let r = ranks.length - 2; r >= 0; r--) sortBy(ranks[r], down);
  }
  // y: ranks stacked, each box centred in its rank's height.
  let y = 0;
  for (const r of ranks) {
    const h = Math.max(0, ...r.filter((id) => !l.boxes.get(id)!.dummy).map((id) => l.boxes.get(id)!.h));
    for (const id of r) {
      const b = l.boxes.get(id)!;
      // A dummy spans its rank, so an edge through it runs straight down the rank.
      if (b.dummy) [b.y, b.h] = [y, h];
      else b.y = y + (h - b.h) / 2;
    }
    y += h + GAP_Y;
  }
  // x: start packed, then pull towards neighbours' centres, down and up, a few times.
  for (const r of ranks) isotonic(r.map((id) => l.boxes.get(id)!), r.map(() => 0));
  const centre = (b: Box): number => b.x + b.w / 2;
  for (let it = 0; it < 6; it++) {
    const pass = (r: string[], nb: Map<string, string[]>): void => {
      const bs = r.map((id) => l.boxes.get(id)!);
      const want = bs.map((b) => {
        const ns = (nb.get(b.id) ?? []).filter((n) => index.has(n)).map((n) => l.boxes.get(n)!);
        return ns.length ? ns.reduce((a, n) => a + centre(n), 0) / ns.length : centre(b);
      });
      isotonic(bs, want);
    };
    for (let r = 1; r < ranks.length; r++) pass(ranks[r], up);
    for (let r = ranks.length - 2; r >= 0; r--) pass(ranks[r], down);
  }
  const all = ranks.flat().map((id) => l.boxes.get(id)!);
  const minX = Math.min(...all.map((b) => b.x));
  for (const b of all) b.x -= minX;
  l.w = Math.max(...all.map((b) => b.x + b.w));
  l.h = y - GAP_Y;
}

/**
 * Places boxes left to right in their order with GAP_X between them, each centre as close as possible (least
 * squares) to its wanted centre: pool adjacent violators over blocks of touching boxes.
 */
function isotonic(bs: Box[], wantCentres: number[]): void {
  // Box i at x_i = s + offset_i within its block; the block's s minimises sum (s + offset_i + w_i/2 - want_i)^2.
  const blocks: { start: number; end: number; s: number }[] = [];
  const offsets: number[] = [];
  for (let i = 0; i < bs.length; i++) {
    let block = { start: i, end: i, s: wantCentres[i] - bs[i].w / 2 };
    offsets[i] = 0;
    while (blocks.length > 0) {
      const prev = blocks[blocks.length - 1];
      const prevEnd = prev.s + offsets[prev.end] + bs[prev.end].w + GAP_X;
      if (prevEnd <= block.s + offsets[block.start]) break;
      // Merge: re-offset the new block's boxes after prev's, then the best common shift.
      let off = offsets[prev.end] + bs[prev.end].w + GAP_X;
      for (let j = block.start; j <= block.end; j++) {
        offsets[j] = off;
        off += bs[j].w + GAP_X;
      }
      let sum = 0;
      for (let j = prev.start; j <= block.end; j++) sum += wantCentres[j] - bs[j].w / 2 - offsets[j];
      block = { start: prev.start, end: block.end, s: sum / (block.end - prev.start + 1) };
      blocks.pop();
    }
    blocks.push(block);
  }
  for (const b of blocks) for (let j = b.start; j <= b.end; j++) bs[j].x = b.s + offsets[j];
}
