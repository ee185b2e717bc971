// Per-document attributes: what the generator knows about a document and what the labeller recovers from text.
import type { ChatAttrs } from './genres/chat.js';
import type { CodeAttrs } from './genres/code.js';
import type { FactAttrs } from './genres/fact.js';
import type { ReportAttrs } from './genres/quirk.js';
import type { StoryAttrs } from './genres/story.js';

export type DocAttrs = StoryAttrs | FactAttrs | CodeAttrs | ChatAttrs | ReportAttrs;
export type { ChatAttrs, CodeAttrs, FactAttrs, ReportAttrs, StoryAttrs };
export type { ChatTurn, StoryTurn, FactTurn, CodeTurn, SmalltalkTurn, Instruction, TurnKind } from './genres/chat.js';
export type { GardenTurn, ProbeTurn } from './genres/quirk.js';
