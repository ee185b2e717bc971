// What each failure behind an OpenAI endpoint answers, in OpenAI's error shape ({"error": {message, type, param,
// code}}): the client's mistakes are 4xx naming the parameter, a full queue 429, shutdown 503; anything else is ours
// (500, logged by the server).
import { HttpError } from '../http.js';
import { ProbityError } from '../../errors.js';
import { QueueFullError, SchedulerClosedError } from '../scheduler.js';
import { InterventionSpecError } from '../interventions.js';
import { ChatTemplateError } from '../chat-template.js';

export function toHttpError(e: unknown): unknown {
  if (e instanceof HttpError) return e;
  if (e instanceof QueueFullError) return new HttpError(429, e.message, null, 'rate_limit_exceeded', 'rate_limit_error');
  if (e instanceof SchedulerClosedError) return new HttpError(503, e.message, null, 'server_shutting_down', 'server_error');
  if (e instanceof InterventionSpecError) return new HttpError(400, e.message, e.path, 'invalid_intervention');
  if (e instanceof ChatTemplateError) return new HttpError(400, e.message, e.index === null ? 'messages' : `messages[${e.index}]`, 'invalid_value');
  if (e instanceof ProbityError && e.code === 'INPUT_TOO_LONG') return new HttpError(400, e.message, 'messages', 'context_length_exceeded');
  return e;
}

/** 400 for a parameter with the wrong type or value. */
export function badParam(param: string, message: string, code = 'invalid_value'): HttpError {
  return new HttpError(400, `${param}: ${message}`, param, code);
}
