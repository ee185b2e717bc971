// Checks an attribution graph file (graph-json.ts) before anything draws or serves it: first the JSON Schema
// docs/attribution-graph.schema.json with ajv, then what a schema cannot say: node ids unique, every link between
// nodes that exist (and no pair linked twice), ctx_idx inside the prompt, each node id spelling its own layer /
// feature / position (the viewer places nodes by their fields but keys them by id), the kept counts equal to the
// arrays. The first fault found is thrown as a ProbityError naming the file, the JSON path and what was expected.
import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { ProbityError } from '../errors.js';
import { PROJECT_ROOT } from '../util/paths.js';
import type { AttributionGraphFile, GraphNode } from './graph-json.js';

export const GRAPH_SCHEMA_FILE = path.join(PROJECT_ROOT, 'docs', 'attribution-graph.schema.json');

let compiled: ValidateFunction | null = null;

function schemaValidator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: false, strict: true, strictNumbers: true, verbose: true });
    compiled = ajv.compile(JSON.parse(fs.readFileSync(GRAPH_SCHEMA_FILE, 'utf8')) as object);
  }
  return compiled;
}

/** The keys of a JSON pointer (`/nodes/3/layer` -> nodes, 3, layer). */
const pointerKeys = (pointer: string): string[] => pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));

/** `$.nodes[3].layer` from ajv's JSON pointer `/nodes/3/layer`. */
export function jsonPath(pointer: string, extra?: string): string {
  const parts = pointerKeys(pointer);
  if (extra !== undefined) parts.push(extra);
  return '$' + parts.map((p) => (/^\d+$/.test(p) ? `[${p}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`)).join('');
}

/** A value as an error message shows it: short, and its kind when it is not a scalar. */
function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  return String(v);
}

function valueAt(root: unknown, pointer: string): unknown {
  let v = root;
  for (const k of pointerKeys(pointer)) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

function schemaMessage(root: unknown, e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  const at = jsonPath(e.instancePath);
  const is = `${at} is ${describe(e.data)}`; // ajv's verbose mode hands over the value at fault
  switch (e.keyword) {
    case 'required':
      return `${jsonPath(e.instancePath, String(p.missingProperty))} is missing; the format requires it`;
    case 'additionalProperties':
      return `${jsonPath(e.instancePath, String(p.additionalProperty))} is not a field of this format (the fields of ${at} are ${Object.keys(schemaProps(e)).join(', ')})`;
    case 'type':
      return `${is}; expected ${Array.isArray(p.type) ? p.type.join(' or ') : String(p.type)}`;
    case 'enum':
      return `${is}; expected one of ${(p.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')}`;
    case 'const':
      return `${is}; expected ${JSON.stringify(p.allowedValue)}${kindNote(root, e.instancePath)}`;
    case 'pattern':
      return `${is}; expected a string matching ${String(p.pattern)}${kindNote(root, e.instancePath)}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${is}; expected a number ${String(p.comparison)} ${String(p.limit)}${kindNote(root, e.instancePath)}`;
    default:
      return `${at} ${e.message ?? `fails ${e.keyword}`}`;
  }
}

/** The fields an object of the schema may have (for additionalProperties messages). */
function schemaProps(e: ErrorObject): Record<string, unknown> {
  return ((e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties) ?? {};
}

/** ", for a node of feature_type "embedding"" when the fault is inside a node (rules differ by kind). */
function kindNote(root: unknown, pointer: string): string {
  const m = /^\/nodes\/(\d+)\//.exec(pointer);
  if (!m) return '';
  const t = (valueAt(root, `/nodes/${m[1]}`) as { feature_type?: unknown } | undefined)?.feature_type;
  return typeof t === 'string' ? ` (a node of feature_type ${JSON.stringify(t)})` : '';
}

/** Whether a node's id spells its fields as graph-json.ts defines (a token id spells the token, not in the node). */
function idSpelling(n: GraphNode): { ok: boolean; spelled: string } {
  switch (n.feature_type) {
    case 'cross layer transcoder':
    case 'logit': {
      const spelled = `${n.layer}_${n.feature}_${n.ctx_idx}`;
      return { ok: n.node_id === spelled, spelled };
    }
    case 'mlp reconstruction error': {
      const spelled = `err_${n.layer}_${n.ctx_idx}`;
      return { ok: n.node_id === spelled, spelled };
    }
    case 'embedding':
      return { ok: new RegExp(`^E_\\d+_${n.ctx_idx}$`).test(n.node_id), spelled: `E_<token id>_${n.ctx_idx}` };
  }
}

function fail(file: string, message: string): never {
  throw new ProbityError('GRAPH_INVALID', `${file}: ${message}`);
}

function semanticChecks(g: AttributionGraphFile, file: string): void {
  const nPos = g.metadata.prompt_tokens.length;
  const firstAt = new Map<string, number>();
  g.nodes.forEach((n, i) => {
    const at = `$.nodes[${i}]`;
    const seen = firstAt.get(n.node_id);
    if (seen !== undefined) fail(file, `${at}.node_id is ${describe(n.node_id)}, the id of $.nodes[${seen}] too; expected node ids to be unique`);
    firstAt.set(n.node_id, i);
    if (n.ctx_idx >= nPos) fail(file, `${at}.ctx_idx is ${n.ctx_idx}; expected 0 .. ${nPos - 1} ($.metadata.prompt_tokens has ${nPos} tokens)`);
    const { ok, spelled } = idSpelling(n);
    if (!ok) {
      fail(file, `${at}.node_id is ${describe(n.node_id)}; expected ${JSON.stringify(spelled)} (its layer ${JSON.stringify(n.layer)}, feature ${n.feature}, ctx_idx ${n.ctx_idx}, feature_type ${JSON.stringify(n.feature_type)})`);
    }
    if (n.feature_type === 'embedding' && n.feature !== n.ctx_idx) fail(file, `${at}.feature is ${n.feature}; expected ${n.ctx_idx} (a token node's feature is its position, ctx_idx)`);
  });
  const pairs = new Map<string, number>();
  g.links.forEach((l, i) => {
    for (const end of ['source', 'target'] as const) {
      if (!firstAt.has(l[end])) fail(file, `$.links[${i}].${end} is ${describe(l[end])}; expected the node_id of a node in $.nodes`);
    }
    const key = `${l.source}\u0000${l.target}`;
    const seen = pairs.get(key);
    if (seen !== undefined) fail(file, `$.links[${i}] links ${describe(l.source)} to ${describe(l.target)}, as $.links[${seen}] does; expected one link per pair`);
    pairs.set(key, i);
  });
  const c = g.metadata.probity.counts;
  if (c.kept_nodes !== g.nodes.length) fail(file, `$.metadata.probity.counts.kept_nodes is ${c.kept_nodes}; expected ${g.nodes.length}, the length of $.nodes`);
  if (c.kept_links !== g.links.length) fail(file, `$.metadata.probity.counts.kept_links is ${c.kept_links}; expected ${g.links.length}, the length of $.links`);
}

/** `json` as an AttributionGraphFile, or a ProbityError (code GRAPH_INVALID) naming `file`, the JSON path and what was expected. */
export function validateGraphFile(json: unknown, file: string): AttributionGraphFile {
  const validate = schemaValidator();
  if (!validate(json)) fail(file, schemaMessage(json, validate.errors![0]));
  const g = json as AttributionGraphFile;
  semanticChecks(g, file);
  return g;
}

/** Read, parse and validate a graph file; unreadable files and malformed JSON are ProbityErrors naming the file too. */
export function readGraphFile(file: string): AttributionGraphFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ProbityError('GRAPH_UNREADABLE', `${file}: cannot be read (${(e as Error).message})`);
  }
  return parseGraphText(text, file);
}

/** Parse and validate the text of a graph file. */
export function parseGraphText(text: string, file: string): AttributionGraphFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(file, `is not valid JSON (${(e as Error).message}); expected an attribution graph file (docs/attribution-graph.schema.json)`);
  }
  return validateGraphFile(json, file);
}
