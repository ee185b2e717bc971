// Stop strings over a token stream: what is released when, where the text is cut, and that held-back text that turns
// out not to start a stop string is released whole.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StopCutter } from '../../src/serve/openai/stop.js';

/** Push pieces one by one; the text released after each push, then after end(). */
function run(stops: string[], pieces: string[]) {
  const c = new StopCutter<number>(stops);
  const after = pieces.map((text, i) => c.push({ text, meta: i }).map((p) => `${p.meta}:${p.text}`).join(' '));
  return { after, end: c.end().map((p) => `${p.meta}:${p.text}`).join(' '), stopped: c.stopped };
}

describe('StopCutter', () => {
  test('a stop string inside a token: the token is cut there, nothing after it is taken', () => {
    assert.deepEqual(run([', w'], ['Hel', 'lo, wor', 'ld']), { after: ['0:Hel', '1:lo', ''], end: '', stopped: true });
  });
  test('a stop string over several tokens is held back until it completes', () => {
    assert.deepEqual(run(['\nUser:'], ['a', '\n', 'Us', 'er', ':', 'b']), { after: ['0:a', '', '', '', '', ''], end: '', stopped: true });
  });
  test('held-back text that does not become a stop string is released whole, in order', () => {
    assert.deepEqual(run(['\nUser:'], ['a', '\n', 'Us', 'ed']), { after: ['0:a', '', '', '1:\n 2:Us 3:ed'], end: '', stopped: false });
  });
  test('the earliest of several stop strings wins; a stop at the very start leaves no text', () => {
    assert.deepEqual(run(['cd', 'b'], ['abcd']), { after: ['0:a'], end: '', stopped: true });
    assert.deepEqual(run(['xy'], ['xy', 'z']), { after: ['', ''], end: '', stopped: true });
  });
  test('end() releases what was held back for a stop string that never came', () => {
    assert.deepEqual(run(['abc'], ['a', 'b']), { after: ['', ''], end: '0:a 1:b', stopped: false });
  });
});
