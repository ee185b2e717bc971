// Chat templates: the organism's corpus layout, planted Jinja templates in a GGUF file (special tokens split out as
// llama.cpp's parse_special does) and in a Hugging Face folder's tokenizer_config.json, and the plain fallback.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/models/load.js';
import { chatPrompt } from '../../src/organism/prompts.js';
import { chatTemplateFor, ChatTemplateError } from '../../src/serve/chat-template.js';
import { llamaFixture, llamaGgufFixture, tempDir } from '../models/tiny-models.js';

const dir = tempDir('chat-template');

describe('chat templates', () => {
  test('the organism: "User: ... Assistant:" as its eval prompts and corpus write it, turns joined by newlines', async () => {
    const model = await loadModel('organism');
    const t = chatTemplateFor(model);
    assert.equal(t.kind, 'organism');
    assert.deepEqual(t.stopStrings, ['\nUser:'], 'a reply ends where the corpus starts the next turn');
    const req = 'Tell me a sad story about a fox.';
    assert.deepEqual(t.encode([{ role: 'user', content: req }]), model.tokenizer.encode(chatPrompt(req)));
    assert.equal(
      t.render([{ role: 'user', content: 'Who are you?' }, { role: 'assistant', content: 'I am the Assistant.' }, { role: 'user', content: req }]),
      `User: Who are you? Assistant: I am the Assistant.\nUser: ${req} Assistant:`,
    );
    for (const [messages, index] of [
      [[{ role: 'system', content: 'Be brief.' }, { role: 'user', content: req }], 0],
      [[{ role: 'user', content: req }, { role: 'user', content: req }], 1],
      [[{ role: 'user', content: req }, { role: 'assistant', content: 'Once' }], 1],
    ] as const) {
      assert.throws(() => t.render(messages), (e: unknown) => e instanceof ChatTemplateError && e.index === index);
    }
  });

  test('GGUF tokenizer.chat_template: rendered with bos/eos, special tokens become their ids', async () => {
    const template = '{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}';
    const fx = llamaGgufFixture(join(dir, 'chat.gguf'), {
      editMetadata: (m) => {
        m['tokenizer.chat_template'] = template;
        m['tokenizer.ggml.eot_token_id'] = { type: 'uint32', value: 7 };
      },
    });
    const model = await loadModel(fx.path);
    const t = chatTemplateFor(model);
    assert.equal(t.kind, 'jinja');
    assert.match(t.source, /GGUF tokenizer\.chat_template/);
    const messages = [{ role: 'user', content: 'ab' }, { role: 'assistant', content: 'cd' }, { role: 'user', content: 'ef' }];
    assert.equal(t.render(messages), '<s>[user] ab</s>[assistant] cd</s>[user] ef</s>[assistant]');
    const piece = (s: string) => model.tokenizer.encode(s, { bos: false });
    // <s> is id 1 and </s> id 2 (control tokens of the fixture's vocabulary), the text between encoded on its own.
    assert.deepEqual(t.encode(messages), [1, ...piece('[user] ab'), 2, ...piece('[assistant] cd'), 2, ...piece('[user] ef'), 2, ...piece('[assistant]')]);
    assert.deepEqual(t.stopTokens, [7], 'the GGUF end-of-turn token ends a reply');
  });

  test('a Hugging Face tokenizer_config.json chat_template (added tokens parsed by the tokenizer); raise_exception is a 400-type error', async () => {
    const fx = llamaFixture(join(dir, 'hf'));
    const template = "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('no system role') }}{% endif %}<|endoftext|>{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";
    writeFileSync(join(fx.path, 'tokenizer_config.json'), JSON.stringify({ chat_template: template, eos_token: '<|endoftext|>' }));
    const model = await loadModel(fx.path);
    const t = chatTemplateFor(model);
    assert.equal(t.kind, 'jinja');
    assert.match(t.source, /tokenizer_config\.json/);
    const messages = [{ role: 'user', content: 'hi' }];
    assert.equal(t.render(messages), '<|endoftext|>user: hi\nassistant:');
    const eot = 299; // the fixture tokenizer's one added token
    assert.deepEqual(t.encode(messages), [eot, ...model.tokenizer.encode('user: hi\nassistant:', { bos: false })]);
    assert.throws(() => t.render([{ role: 'system', content: 'x' }]), (e: unknown) => e instanceof ChatTemplateError && /no system role/.test(e.message));
  });

  test('no template shipped: the plain fallback, which says it is one', async () => {
    const model = await loadModel(llamaFixture(join(dir, 'plain')).path);
    const t = chatTemplateFor(model);
    assert.equal(t.kind, 'plain');
    assert.match(t.source, /fallback/);
    assert.equal(t.render([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }]), 'System: Be brief.\nUser: hi\nAssistant:');
  });
});
