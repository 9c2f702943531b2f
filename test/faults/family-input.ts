import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ackImport } from "./family-kill.js";
import { copyTemplate } from "./fixtures.js";
import type { Rng } from "./rng.js";
import type { Family } from "./suite.js";

/** One line of a hostile file; `record` is what memzip must store for it if it accepts it (none: it must not). */
interface Line {
  bytes: Buffer;
  record?: { id: string; text: string };
}

const ODD_IDS = ["ünï cødé", "with space", "../../etc/passwd", "a".repeat(512), "emoji 😀 id", "-rf", "%s%n%x", "'; DROP TABLE memories; --", "名字/路径", "\\", "id\twith tab"];
const BAD_IDS: unknown[] = ["", "a".repeat(513), 42, null, "nul\u0000id", { id: 1 }, ["x"]];
const ODD_NAMESPACES = ["ns:odd@x", "名字", "a_b.c-d", "x".repeat(128)];
const BAD_NAMESPACES: unknown[] = ["", "../x", "a b", "x".repeat(129), 7, "名字/x"];

function line(value: unknown, record?: { id: string; text: string }): Line {
  return { bytes: Buffer.from(JSON.stringify(value), "utf8"), ...(record ? { record } : {}) };
}

/** Hostile lines of one kind, with unique ids derived from `tag`. */
function hostile(kind: string, rng: Rng, tag: string, texts: readonly string[]): Line[] {
  const text = (): string => rng.pick(texts);
  switch (kind) {
    case "nesting": {
      const depth = rng.int(1000, 200000);
      const nested = "[".repeat(depth) + "]".repeat(depth);
      const whole = rng.chance(0.5);
      const raw = whole ? nested : `{"id":"${tag}-deep","text":${JSON.stringify(text())},"meta":{"x":${nested}}}`;
      return [{ bytes: Buffer.from(raw, "utf8") }];
    }
    case "huge": {
      const mib = rng.pick([1, 4, 17, 50]);
      const big = "memzip huge line ".repeat(Math.ceil((mib * 1024 * 1024) / 17)).slice(0, mib * 1024 * 1024);
      // 17 and 50 MiB are past the default 16 MiB limit and must be refused; smaller ones stored exactly.
      return [line({ id: `${tag}-huge`, text: big }, mib < 16 ? { id: `${tag}-huge`, text: big } : undefined)];
    }
    case "duplicates": {
      // Two or three ids over two or three texts, so one file repeats ids and shares texts between ids
      // (content addressing hands a text over between rows in one batch).
      const ids = Array.from({ length: rng.int(2, 3) }, (_, i) => `${tag}-dup-${i}`);
      const shared = Array.from({ length: rng.int(2, 3) }, () => `${text()} #${rng.int(0, 1e6)}`);
      return Array.from({ length: rng.int(3, 6) }, () => {
        const id = rng.pick(ids);
        const t = rng.pick(shared);
        return line({ id, text: t }, { id, text: t });
      });
    }
    case "odd-ids":
      return rng.sample(ODD_IDS, 3).map((id, i) => {
        const t = text();
        const full = `${tag}-${i}-${id}`.slice(0, 512);
        return line({ id: full, text: t }, { id: full, text: t });
      });
    case "bad-ids":
      return rng.sample(BAD_IDS, 3).map((id) => line({ id, text: text() }));
    case "namespaces": {
      const good = rng.sample(ODD_NAMESPACES, 2).map((namespace, i) => {
        const t = text();
        return line({ id: `${tag}-ns-${i}`, namespace, text: t }, { id: `${tag}-ns-${i}`, text: t });
      });
      const bad = rng.sample(BAD_NAMESPACES, 2).map((namespace, i) => line({ id: `${tag}-badns-${i}`, namespace, text: text() }));
      return [...good, ...bad];
    }
    case "invalid-utf8": {
      const head = Buffer.from(`{"id":"${tag}-utf8","text":"bad `, "utf8");
      const junk = Buffer.from(rng.pick([[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]]));
      return [{ bytes: Buffer.concat([head, junk, Buffer.from(` bytes"}`, "utf8")]) }];
    }
    case "lone-surrogate":
      return [{ bytes: Buffer.from(`{"id":"${tag}-sur","text":"half \\ud83d of an emoji"}`, "utf8") }];
    case "not-records":
      return ["", "   ", "null", "[]", '"text"', "{", '{"text": 5}', '{"id": "x"}', '{"text":"t","kind":"weird"}', '{"text":"t","createdAt":"yesterday"}']
        .filter(() => rng.chance(0.5))
        .map((raw) => ({ bytes: Buffer.from(raw, "utf8") }));
    default:
      throw new Error(`unknown hostile kind ${kind}`);
  }
}

const KINDS = ["nesting", "huge", "duplicates", "odd-ids", "bad-ids", "namespaces", "invalid-utf8", "lone-surrogate", "not-records"] as const;

export const hostileJsonl: Family = {
  name: "hostile-jsonl",
  summary: "imports of JSONL with deep nesting, huge lines (1–50 MiB), duplicate ids, odd and invalid ids and namespaces, invalid UTF-8, lone surrogates, non-records, CRLF and BOM, among ordinary records",
  weight: 6,
  async run(context) {
    const { rng, fixtures } = context;
    const db = join(context.dir, "store.db");
    const oracle = copyTemplate(fixtures.small, db);
    const texts = fixtures.fresh.map((r) => r.text);
    const lines: Line[] = rng.sample(fixtures.fresh, rng.int(3, 12)).map((r) => line({ id: r.id, text: r.text }, { id: r.id, text: r.text }));
    // "huge" is costly (tens of MiB through the codecs): about one case in ten carries it.
    const kinds = rng.sample(
      KINDS.filter((k) => k !== "huge" || rng.chance(0.2)),
      rng.int(1, 3),
    );
    kinds.forEach((kind, i) => {
      for (const l of hostile(kind, rng, `h${i}`, texts)) lines.splice(rng.int(0, lines.length), 0, l);
    });
    const eol = Buffer.from(rng.chance(0.2) ? "\r\n" : "\n");
    const bom = rng.chance(0.1) ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0);
    const body = Buffer.concat([bom, ...lines.flatMap((l, i) => (i < lines.length - 1 || rng.chance(0.7) ? [l.bytes, eol] : [l.bytes]))]);
    const file = join(context.dir, "hostile.jsonl");
    writeFileSync(file, body);
    const records = lines.map((l) => l.record ?? { id: "", text: "" });
    for (const l of lines) if (l.record) oracle.pending(l.record.id, l.record.text);
    const { result, kind } = await context.cli(["import", file, "--db", db, "--json", "--batch", String(rng.int(1, 8))]);
    if (kind === "ok" || kind === "failures") {
      ackImport(
        oracle,
        records.filter((r) => r.id !== ""),
        result.stdout,
        records.map((r) => r.id !== ""),
      );
    }
    await context.verify(db, oracle, true);
  },
};
