import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { liftCodec } from "../../src/codec/async-codec.js";
import { checkCodecIds, CODEC_IDS } from "../../src/codec/ids.js";
import { LLM_CODEC_ID } from "../../src/codec/llm.js";
import { CODEC_NAMES, CodecRegistry, createCodecs } from "../../src/codec/registry.js";
import { rawCodec } from "../../src/codec/raw.js";
import { isMemzipError } from "../../src/errors.js";
import { createRleCodec } from "./fixtures/rle-codec.js";

const usage = (e: unknown) => isMemzipError(e, "E_USAGE");

describe("codec ids", () => {
  it("keeps the envelope ids envelopes on disk were written with", () => {
    assert.deepEqual({ ...CODEC_IDS }, { raw: 0, zstd: 1, "zstd-dict": 2, cm: 3, "cm-ref": 4, llm: 5, "llm-mix": 6 });
    assert.equal(LLM_CODEC_ID, 5);
    const { byName } = createCodecs({ zstdLevel: 3 });
    for (const name of CODEC_NAMES) assert.equal(byName.get(name)?.id, CODEC_IDS[name], name);
  });

  it("the uniqueness check refuses two names with one id and ids outside a byte", () => {
    assert.doesNotThrow(() => checkCodecIds(CODEC_IDS));
    assert.throws(() => checkCodecIds({ a: 1, b: 2, c: 1 }), (e: unknown) => usage(e) && /"a" and "c" both claim envelope id 1/.test((e as Error).message));
    assert.throws(() => checkCodecIds({ a: 256 }), usage);
    assert.throws(() => checkCodecIds({ a: 1.5 }), usage);
    assert.throws(() => checkCodecIds({ a: -1 }), usage);
  });
});

describe("CodecRegistry", () => {
  it("holds the built-in codecs by id and by name", () => {
    const registry = CodecRegistry.builtIn({ zstdLevel: 3 });
    assert.deepEqual(registry.list().map((c) => c.name), CODEC_NAMES);
    assert.equal(registry.get(CODEC_IDS.zstd)?.name, "zstd");
    assert.equal(registry.named("cm")?.id, CODEC_IDS.cm);
    assert.equal(registry.get(CODEC_IDS.llm), undefined);
  });

  it("throws a typed error on a duplicate id or name instead of overwriting", () => {
    const registry = CodecRegistry.builtIn({ zstdLevel: 3 }).register(createRleCodec());
    assert.throws(() => registry.register(createRleCodec()), (e: unknown) => usage(e) && /already registered/.test((e as Error).message));
    assert.throws(() => registry.register(createRleCodec("other-rle")), (e: unknown) => usage(e) && /which codec "test-rle" already has/.test((e as Error).message));
    assert.throws(() => registry.register(liftCodec(rawCodec)), usage);
    assert.equal(registry.named("test-rle")?.id, 201, "the first registration stands");
  });

  it("keeps the central map's ids for their names", () => {
    const registry = new CodecRegistry();
    assert.throws(() => registry.register(createRleCodec("llm", 200)), (e: unknown) => usage(e) && /must have envelope id 5/.test((e as Error).message));
    assert.throws(() => registry.register(createRleCodec("mine", CODEC_IDS.llm)), (e: unknown) => usage(e) && /belongs to codec "llm"/.test((e as Error).message));
    assert.throws(() => registry.register(createRleCodec("mine", 300)), usage);
    assert.throws(() => registry.register(createRleCodec("", 200)), usage);
    assert.equal(registry.list().length, 0);
  });
});
