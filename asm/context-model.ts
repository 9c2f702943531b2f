// AssemblyScript: the cm codec's context model, compiled to WebAssembly (npm run build:wasm).
// Integer arithmetic only, so every engine computes the same probabilities. One instance holds
// one model in its own linear memory; src/codec/cm/context-model.ts drives it bit by bit.
//
// Model version 8 (snapshots of version 8; versions 2 to 7 are frozen in asm/context-model-v2.ts … -v7.ts, which
// every envelope coded with such a snapshot needs, bit for bit).
//
// Version 8 against version 7 (stop 28, docs/CM.md "Model version 8"): the first counter is selected by the byte above
// the coming one in the previous line (0x100 when that line is shorter or there is none) with the partial byte, a
// direct table after order 1's, in place of the order-0 counter (SPEED9 bit 2, ABOVE_O0(); the rows a record used are
// copied back after it from a frozen copy); mixer 3's hash also by the second match's expected bit (STOP28_OPTIONS bit
// 8, MATCH2_MIXER3()); counters adapt inside a record no slower than at count 10 (FROZEN_RATE_LIMIT, was 15).
// Dev 1.9402 -> 1.9292 (-0.57 %), Canterbury 2.0923 -> 2.0823 (-0.48 %), the team's notes (npm run bench) 4.538 ->
// 4.541 bits/byte whole (+0.07 %); 1.046x version 7's coding instructions. The record's length in the APM (LEN_APM) paid
// on Canterbury but cost the notes 0.6 %.
//
// Version 7 against version 6 (stop 27, docs/CM.md "Contexts measured on version 6" and "Model version 7"): a second
// match model — the occurrence the 6-byte match table held before the latest one, its expected bit as an input in the
// bias's lane (MATCH2 2, NO_BIAS: still 8 inputs, one v128 per weight set) — and mixer 2 also selected by the column
// where no character is in progress (COLUMN_MIXER 1). Dev 1.9526 -> 1.9402 (-0.64 %), Canterbury 2.1050 -> 2.0923
// (-0.60 %), ~1.02x version 6's coding instructions.
//
// Version 6 against version 5 (docs/CM.md "Model version 6", each candidate measured alone and in
// combinations on the dev split and the Canterbury texts, with cachegrind instruction counts): the
// mixers' weights and inputs in 16 bits (MIXER16), a third mixer by a hash of the previous two bytes
// (MIXER3), weight updates skipped for small errors (MIXER_SKIP 64), and no order-1 APM (APM_ORDER1
// off: ~8 % of the coding instructions). Dev 1.9548 -> 1.9526, Canterbury 2.1228 -> 2.1050, 0.925x the
// coding instructions. With MIXER16, MIXER3 and MIXER_SKIP off and APM_ORDER1 on it computes version 5's
// integers (checked: the same payloads).
//
// Measured on version 6 and left off (stop 26, docs/CM.md "Bit-history states"): bit-history states with adaptive
// StateMaps (BIT_HISTORY), beside the counters (best: dev -0.51 %, Canterbury +0.07 %, 1.29x the coding
// instructions) or in their place (+2 % on both). With the flags off the WebAssembly is version 6's byte for byte.
//
// Measured on version 6 and left off (stop 27, docs/CM.md "Contexts measured on version 6, stop 27"): a line context
// (column + byte above: dev -0.43 %, Canterbury -0.82 %, 1.31x the coding instructions), a second match model (MATCH2:
// with NO_BIAS and COLUMN_MIXER 1 dev -0.64 %, Canterbury -0.60 %, ~1.03x), indirect and Chinese skip contexts (no gain).
//
// Version 5 against version 4 (issue 16, Chinese first; docs/CM.md, each change measured alone on
// the dev split by language and on the Canterbury texts): the model follows UTF-8 (the bytes of
// the character in progress and the last three whole characters). In multi-byte text (a character
// in progress, or the last one of 2-4 bytes) the word context, which spanned a whole run of Chinese,
// becomes the previous character with the one in progress; counters adapt inside a record as fast
// as at count 4 and the mixers at rate 128; mixer 2 is also selected by the position inside the
// character and the partial-byte APM too. For all text, mixer 1 is also selected by whether the
// highest order seen was seen more than twice. Measured and left out: the order-4 context as the
// previous two whole characters (zh worse), the word context as two or three characters, or as the
// character before the previous one (a skip context; paid less than one character), mixer 1 by
// multi-byte text.
//
// The model: adaptive counters in order 0 and 1 (direct) and orders 2, 3, 4 and a word context
// (hashed, in tagged 16-slot buckets, one bucket per nibble), a match model
// over everything seen, two logistic mixers averaged in the logistic domain — one with weights
// selected by the partial byte, the match length and which orders have been seen before, one by
// the previous byte and bit position — and two APM stages: on the partial byte, and on the
// previous byte with the partial byte (64K contexts, rolled back through the undo log).
//
// Choices measured on the dev corpus (train 1500 records, code the other 500 one by one):
// order-5 or order-6 contexts, a code-point bigram context for Chinese, an order-1 APM in place
// of the second mixer and separate count limits per order each made the result worse or no better; selecting mixer
// weights by the seen orders gained 0.5 %, the second mixer 0.9 %, the mixer rate 32 (from 10)
// 0.4 %. See docs/CM.md.

// Version 4 against version 3, each change measured on the dev split and on the Canterbury texts
// (docs/CM.md): counters count to 255 while training (slower, steadier rates for the snapshot's
// statistics) but adapt inside a record no slower than at count FROZEN_RATE_LIMIT; the mixers
// learn faster inside a record (MIXER_RATE_FROZEN) and the APMs too (APM_RATE_FROZEN); a third APM
// on a hash of the previous two bytes. Each paid on both corpora.
//
// Version 3 against version 2, measured (docs/CM.md): the order-1 APM paid (-0.25 %) at no cost in
// speed, with the fused calls. A word bigram paid another 0.19 % but cost 25-30 % of the speed, so
// it is off; a learned final mixer in place of the average, and a UTF-8 character bigram for
// non-ASCII words, did not pay at all.
/** Version 6: the mixers' weights and inputs in 16 bits (weight 1.0 = 8192), one i32x4.dot_i16x8_s per mixer for the 8 inputs, the update one i16x8.q15mulr_sat_s and a saturating add (the same learning rate as the 32-bit update); a weight set is one v128. */
const MIXER16: bool = true;
/** Version 6: a mixer whose error |(bit << 12) - p| is at most this skips its weight update (paq8 style; 0: always update). */
const MIXER_SKIP: i32 = 64;
/**
 * Stop 28 (issue 16 item 1), cheap selections and a final combination, all off in version 7 (one constant, as for
 * stop 27). Bit 0 LEN_MIXER3(): mixer 3's hash also by the record's length (known to the decoder before it decodes:
 * beginRecord's `length`), in 8 log2 buckets (< 32, < 64, …, 2048+). Bit 1 POS_MIXER3(): mixer 3's hash also by the
 * bytes coded so far in the record (0, 1-3, 4-15, 16-63, 64+). Bit 2 LEN_APM(): the APM's context also by the length
 * bucket. Bit 3 POS_APM(): the APM's context also by the position bucket. Bits 4-5 FINAL_WEIGHTS(): 0 p = ½ mix + ½
 * APM; 1 ¼ mix + ¾ APM; 2 ¾ mix + ¼ APM (with MATCH_APM(): 0 ½ mix + ¼ each APM, 1 ¼ mix + ½ APM + ¼ match APM,
 * 2 ⅓ each). Bit 6 MATCH_APM(): a second APM by the match state (the first match's length up to 15 and expected bit,
 * the second match's expected bit) × stretch(p), interpolated like the first. Bit 7 CONF_MIXER3(): mixer 3's hash also
 * by whether the word context was seen and the highest order's confidence (`known` >> 2). Bit 8 MATCH2_MIXER3():
 * mixer 3's hash also by the second match's expected bit (or none). Bits 9-10 the APMs' rate in a record
 * (APM_RATE_FROZEN 5; 1: 4, 2: 6, 3: 7). Bit 11 MIXER3_WIDE(): mixer 3's hash 14 bits instead of 12. Bit 12
 * LEN_MIXER1(): mixer 1 also by whether the record is short (< 128 bytes) — doubling its sets. Bits 13-14 MIXER4():
 * a fourth mixer (one more v128 dot product and update per bit), its weight sets selected by 1 the record's length
 * bucket, the position bucket and c0; 2 `known` (mixer 1's orders seen and confidence), the second match's state and
 * c0; 3 the length bucket, mixer 2's character position / column bucket and c0; the four averaged in the stretch domain.
 * Bits 15-16 ADAPT_RATE(): the counters' rate limit in a record (FROZEN_RATE_LIMIT, not in multi-byte text) chosen per
 * byte: 1 by the record's length bucket (< 64: the low limit, < 256: 12, else FROZEN_RATE_LIMIT); 2 by how badly the
 * record is going: a running mean of |bit − p| (p the mixers' average, 12 bits, per bit ≈ 1/128) above ADAPT_T() gives
 * the low limit, else FROZEN_RATE_LIMIT. Bits 17-18 ADAPT_T(): 300, 450, 600, 800. Bit 19 ADAPT_MIXER(): then also
 * the mixers' rate 96 (else MIXER_RATE_FROZEN). Bits 20-21 ADAPT_LOW(): the low limit 10, 8, 12, 6.
 * State (s28(), 16 i32s after stop 27's, then the match APM and its pristine copy): in memory, not globals.
 */
const STOP28_OPTIONS: i32 = 256;
@inline function LEN_MIXER3(): bool {
  return (STOP28_OPTIONS & 1) !== 0;
}
@inline function POS_MIXER3(): bool {
  return (STOP28_OPTIONS & 2) !== 0;
}
@inline function LEN_APM(): bool {
  return (STOP28_OPTIONS & 4) !== 0;
}
@inline function POS_APM(): bool {
  return (STOP28_OPTIONS & 8) !== 0;
}
@inline function FINAL_WEIGHTS(): i32 {
  return (STOP28_OPTIONS >> 4) & 3;
}
@inline function MATCH_APM(): bool {
  return (STOP28_OPTIONS & 64) !== 0;
}
@inline function CONF_MIXER3(): bool {
  return (STOP28_OPTIONS & 128) !== 0;
}
@inline function MATCH2_MIXER3(): bool {
  return (STOP28_OPTIONS & 256) !== 0;
}
@inline function APM_RATE_IN_RECORD(): i32 {
  const r = (STOP28_OPTIONS >> 9) & 3;
  return r === 0 ? APM_RATE_FROZEN : r === 1 ? 4 : r === 2 ? 6 : 7;
}
@inline function MIXER3_WIDE(): bool {
  return (STOP28_OPTIONS & 2048) !== 0;
}
@inline function LEN_MIXER1(): bool {
  return (STOP28_OPTIONS & 4096) !== 0;
}
@inline function MIXER4(): i32 {
  return (STOP28_OPTIONS >> 13) & 3;
}
@inline function ADAPT_RATE(): i32 {
  return (STOP28_OPTIONS >> 15) & 3;
}
@inline function ADAPT_T(): i32 {
  const t = (STOP28_OPTIONS >> 17) & 3;
  return t === 0 ? 300 : t === 1 ? 450 : t === 2 ? 600 : 800;
}
@inline function ADAPT_MIXER(): bool {
  return (STOP28_OPTIONS & (1 << 19)) !== 0;
}
@inline function ADAPT_LOW(): i32 {
  const t = (STOP28_OPTIONS >> 20) & 3;
  return t === 0 ? 10 : t === 1 ? 8 : t === 2 ? 12 : 6;
}
/** Bits 22-23 SPLIT_LIMIT(): 1 orders 0-1 keep the in-record limit 15 (only the hashed contexts take FROZEN_RATE_LIMIT); 2 the hashed contexts keep 15. */
@inline function SPLIT_LIMIT(): i32 {
  return (STOP28_OPTIONS >> 22) & 3;
}
/** The in-record limit for counter group `group` (1 orders 0-1, 2 hashed): `limit`, or 15 where SPLIT_LIMIT() keeps that group at version 7's. */
@inline function splitLimit(group: i32, limit: i32, multiByte: bool): i32 {
  if (SPLIT_LIMIT() !== group) return limit;
  return frozen && !(FROZEN_RATE_LIMIT_MB > 0 && multiByte) ? 15 : limit;
}
@inline function MIXER4_SETS(): i32 {
  return MIXER4() !== 0 ? 16384 : 0;
}
/**
 * Stop 29 (off in version 8): bits 0-2 FINAL_LAYER(): a learned final layer in place of the three mixers' plain average —
 * 1 one weight set, 2 sets by bit position, 3 by the partial byte, 4 by the first match's expected bit (none, 0, 1) and
 * the bit position, 5 by the partial byte and whether a match is on; bit 3 FL_IN_RECORD(): it also learns inside a record
 * (copied back after); bits 4-5 FL_RATE(): its error scale 1, 2, 4, 8 (the update (input · error · scale) >> 14, 16.16
 * weights starting at ⅓ each). Speed (same bits): bit 6 BRANCHLESS_CODER(): the range coders' step on the bit by
 * `select`, not a branch; bit 7 BRANCHLESS_SKIP(): every mixer trains every bit, with a zero error where MIXER_SKIP
 * would skip it, and every used weight set is noted for endRecord.
 */
const STOP29_OPTIONS: i32 = 0;
@inline function FINAL_LAYER(): i32 {
  return STOP29_OPTIONS & 7;
}
@inline function FL_IN_RECORD(): bool {
  return (STOP29_OPTIONS & 8) !== 0;
}
@inline function FL_RATE(): i32 {
  return 1 << ((STOP29_OPTIONS >> 4) & 3);
}
@inline function BRANCHLESS_CODER(): bool {
  return (STOP29_OPTIONS & 64) !== 0;
}
@inline function BRANCHLESS_SKIP(): bool {
  return (STOP29_OPTIONS & 128) !== 0;
}
@inline function FL_SETS(): i32 {
  const m = FINAL_LAYER();
  return m === 0 ? 0 : m === 1 ? 1 : m === 2 ? 8 : m === 3 ? 256 : m === 4 ? 24 : 512;
}
/** The final layer's weights (i32 × 4 a set, 16.16) and their pristine copy, after MIXER4's. */
@inline function finalWeights(): usize {
  return slots + 128 + <usize>(2 * MATCH_APM_BYTES() + 2 * MIXER4_SETS() * SET_BYTES);
}
@inline function pristineFinalWeights(): usize {
  return finalWeights() + <usize>(FL_SETS() * 16);
}
/** Version 6: a third mixer, weights selected by a 12-bit hash of the previous two bytes and the bit position, the three averaged in the logistic domain. */
const MIXER3: bool = true;
const MIXER3_SETS: i32 = MIXER3 ? 4096 * 8 * (MIXER3_WIDE() ? 4 : 1) : 0;
/**
 * Bit-history states (issue 16 item 1, stop 26; off in version 6): each counter slot also keeps a state byte
 * (bits 8-15 of the slot; the count is bits 0-7) for its context's recent bits (asm/bit-history-states.mjs),
 * mapped to a probability by an adaptive StateMap per context (COUNTERS × BH_STATES, p16 << 16 | count).
 * 0 off; 1 stretch(StateMap) as a second input per context, beside the counters' (14 inputs); 2 the
 * StateMap's stretch in place of the counter's as each context's input (the counters still give the counts).
 */
const BIT_HISTORY: i32 = 0;
/** BIT_HISTORY: the StateMaps do not learn while a record is coded (else they learn and are copied back after it). */
const SM_FROZEN: bool = false;
/** BIT_HISTORY: a StateMap entry's rate is 2 / (2n + 3) down to n = SM_LIMIT (training) or SM_LIMIT_FROZEN (coding a record). */
const SM_LIMIT: i32 = 255;
const SM_LIMIT_FROZEN: i32 = 255;
/** BIT_HISTORY 1: contexts below this one (0 order 0, 1 order 1, 2 the hashed orders) get no StateMap input (it stays 0, their StateMaps unused). */
const BH_FIRST: i32 = 0;
/** BIT_HISTORY 1: a new weight set's weights: 0 all INITIAL_WEIGHT; 1 half of it for each counter's and each StateMap's input; 2 the StateMaps' at 0. */
const BH_INIT: i32 = 0;
/** The bits of a counter slot's low half that hold its count (the rest, with BIT_HISTORY, its state). */
const COUNT_MASK: i32 = BIT_HISTORY !== 0 ? 0xff : 0xffff;
/** A word-bigram context (the previous ASCII word with the current one) as a fifth hashed context: off (see above). */
const WORD_BIGRAM: bool = false;
/**
 * Stop 27 (issue 16 items 1 and 5; off in version 6, docs/CM.md "Contexts measured on version 6"): a fifth hashed
 * context, a seventh counter (a ninth mixer input: two v128s per weight set unless NO_BIAS()). 0 none;
 * 1 the column (up to 255) with the byte above it in the previous line (0x100 when that line is shorter or there is none);
 * 2 the line's first two bytes (as many as there are) with the column;
 * 3 indirect (paq8 style): the previous byte with the two bytes that followed its last two occurrences;
 * 4 indirect order 2: the previous two bytes with the byte that followed their last occurrence;
 * 5 in multi-byte text the character before the previous one with the one in progress (a skip context), else as 1;
 * 6 in multi-byte text the previous two characters with the one in progress, else as 1;
 * 7 the byte above with the previous byte.
 * In place of a context (no seventh counter): the column with the byte above as the order-4 context (8), as the word
 * context where no character is in progress or ended last (9: ASCII text), as the order-2 context (10).
 */
const EXTRA_CONTEXT: i32 = 0;
/** Stop 27: a second match model as a mixer input: 0 none; 1 its own MATCH2_MIN()-byte hash table (after the first one's); 2 the candidate the 6-byte table held before the latest one (the second most recent occurrence). */
const MATCH2: i32 = 2;
/**
 * Stop 27, more options in one constant (each new constant referenced is a global before binaryen's passes, and past
 * 128 of them binaryen reorders the globals: version 6's WebAssembly would change though its code does not; so the
 * stop's flags are three constants, the rest inlined functions of them). Bit 0 NO_BIAS(): no bias input (its lane goes
 * to a seventh counter or a second match, so a weight set stays one v128). Bit 1 NEW_INPUTS_AT_ZERO(): a new weight
 * set's weights for EXTRA_CONTEXT's counter and MATCH2's input start at 0 (else INITIAL_WEIGHT). Bits 2-3
 * COLUMN_MIXER(): 1 mixer 2 also by the column where no character is in progress (buckets 0, 1-3, 4-15, 16+), 2
 * mixer 3's hash also by it. Bits 4-7 MATCH2_MIN() less 4 (MATCH2 1's hash length).
 */
const STOP27_OPTIONS: i32 = 5;
@inline function NO_BIAS(): bool {
  return (STOP27_OPTIONS & 1) !== 0;
}
@inline function NEW_INPUTS_AT_ZERO(): bool {
  return (STOP27_OPTIONS & 2) !== 0;
}
@inline function COLUMN_MIXER(): i32 {
  return (STOP27_OPTIONS >> 2) & 3;
}
@inline function MATCH2_MIN(): i32 {
  return 4 + ((STOP27_OPTIONS >> 4) & 15);
}
/** Whether mixer 3's hash takes stop 28's per-byte extra (s28(2)). */
@inline function MIXER3_EXTRA(): bool {
  return LEN_MIXER3() || POS_MIXER3() || CONF_MIXER3() || MATCH2_MIXER3();
}
@inline function MATCH_APM_CONTEXTS(): i32 {
  return 32 * 3;
}
/** Bytes of the s28 block, the match APM and its pristine copy (after stop 27's 8 i32s). */
@inline function MATCH_APM_BYTES(): i32 {
  return MATCH_APM() ? (MATCH_APM_CONTEXTS() * 33 * 2 + 63) & ~63 : 0;
}
@inline function S28_BYTES(): i32 {
  return STOP28_OPTIONS === 0 ? 0 : 96 + 2 * MATCH_APM_BYTES() + 2 * MIXER4_SETS() * SET_BYTES + 2 * FL_SETS() * 16;
}
// Derived values as inlined functions, not constants: a new constant is a new global before binaryen's passes, and
// past 128 globals binaryen reorders them, which would change version 6's WebAssembly (its code stays the same).
/** Whether line starts are followed (LINES()). */
@inline function LINES(): bool {
  return EXTRA_CONTEXT === 1 || EXTRA_CONTEXT === 2 || EXTRA_CONTEXT === 5 || EXTRA_CONTEXT === 6 || EXTRA_CONTEXT === 7 || EXTRA_CONTEXT >= 8 || COLUMN_MIXER() !== 0;
}
@inline function INDIRECT(): bool {
  return EXTRA_CONTEXT === 3 || EXTRA_CONTEXT === 4;
}
/** i32s after the match table(s) (one region, so the undo log's match entries roll them back): INDIRECT()'s t1 (256) and t2 (65536). */
@inline function AUX_WORDS(): i32 {
  return INDIRECT() ? 256 + 65536 : 0;
}
/**
 * Stop 28 (speed; off in version 7): bit 0 PAGE_NIBBLES(): a hashed context's bucket for a byte's second nibble lies in the
 * 4 KiB page (1024 slots, the hashed region page-aligned) of its first nibble's home bucket, so a byte's two buckets of a
 * context cost one page walk, not two; bit 1 MATCH_PAIRS(): MATCH2 2's two candidates of a hash side by side (one cache
 * line) instead of in two tables (same bits).
 */
const SPEED9: i32 = 4;
@inline function PAGE_NIBBLES(): bool {
  return (SPEED9 & 1) !== 0;
}
/** Bit 2 ABOVE_O0(): the first counter by (the byte above in the previous line, 0x100 none; the partial byte), a direct table after order 1's, in place of order 0. */
@inline function ABOVE_O0(): bool {
  return (SPEED9 & 12) !== 0;
}
/** ABOVE_O0(): the direct table's first counter, its bytes (257 rows of 256 counters), and the bytes after the frozen copy of it: a mark per row (257, padded to 260), the count of rows listed (i32), the list (257 i32). */
@inline function ABOVE_BASE(): i32 {
  return O1_BASE + 65536;
}
const ABOVE_TABLE_BYTES: i32 = 257 * 256 * 4;
const ABOVE_ROWS_BYTES: i32 = 264 + 257 * 4;
@inline function aboveRows(): usize {
  return pristineOrder0 + <usize>ABOVE_TABLE_BYTES;
}
@inline function MATCH_PAIRS(): bool {
  return (SPEED9 & 2) !== 0 && MATCH2 === 2;
}
/** Where the 6-byte match table keeps hash `h`'s latest occurrence (MATCH_PAIRS(): beside the one before it). */
@inline function matchSlot(h: i32): i32 {
  return MATCH_PAIRS() ? h << 1 : h;
}
@inline function MATCH_COUNTERS(): i32 {
  return MATCH2 !== 0 ? 128 : 64;
}
/** A second APM on the previous byte and the partial byte, rolled back through the undo log. */
const APM_ORDER1: bool = false;
const APM1_TAG: i32 = 1 << 30;
/** A third APM on a hash of the previous two bytes with the partial byte, rolled back through the undo log: off in version 4 (0.3 % smaller on the dev split, 0.06 % on Canterbury, for about a quarter of the speed; docs/CM.md). */
const APM_ORDER2: bool = false;
const APM2_TAG: i32 = 1 << 29;
/** Final probability: 0 = ½ model + ¼ each order-0/1 APM (v3); 1 = ¼ each of model and the three APMs; 2 = ⅜ model, ⅛ order 0, ¼ order 1, ¼ order 2. */
const FINAL_MIX: i32 = 1;
const HASHED: i32 = WORD_BIGRAM || (EXTRA_CONTEXT !== 0 && EXTRA_CONTEXT < 8) ? 5 : 4;
/** UTF-8-aware mixer selection: 0 none; 1 mixer 2 also by the position inside a character; 2 mixer 1 also by whether the text is multi-byte. */
const UTF8_MIXER: i32 = 1;
/** In multi-byte text, the order-4 context becomes the previous two whole characters with the character in progress. */
const UTF8_O4: bool = false;
/** In multi-byte text, the word context becomes: 0 unchanged; 1 the previous character with the one in progress; 2 the previous three characters with it; 3 the previous two with it; 4 the character before the previous one with it (a skip context). */
const UTF8_WORD: i32 = 1;
/** The APM on the partial byte also by the position inside a UTF-8 character. */
const UTF8_APM: bool = true;
const APM0_CONTEXTS: i32 = (UTF8_APM ? 1024 : 256) * (LEN_APM() ? 8 : 1) * (POS_APM() ? 5 : 1);
/** In multi-byte text (UTF-8 characters of 2-4 bytes), while coding a record: the counters' rate limit and the mixers' rate (0: as in other text). */
const FROZEN_RATE_LIMIT_MB: i32 = 4;
const MIXER_RATE_FROZEN_MB: i32 = 128;
const UTF8_CONTEXTS: bool = UTF8_MIXER !== 0 || UTF8_O4 || UTF8_WORD !== 0 || UTF8_APM || FROZEN_RATE_LIMIT_MB > 0 || MIXER_RATE_FROZEN_MB > 0;
/** The mixers' dot products and updates in WebAssembly SIMD lanes (8 inputs: two i32x4 vectors), with the same integers as the scalar loops; built with --enable simd. */
const SIMD_MIXER: bool = !WORD_BIGRAM;
const COUNTERS: i32 = 2 + HASHED;
const INPUTS: i32 = COUNTERS + (NO_BIAS() ? 1 : 2) + (MATCH2 !== 0 ? 1 : 0) + (BIT_HISTORY === 1 ? COUNTERS : 0);

/** Where the StateMaps' inputs start (BIT_HISTORY 1): after the match input and the bias. */
const SM_INPUT: i32 = COUNTERS + 2;
const BIAS: i32 = 256;
const O1_BASE: i32 = 256;
const HASHED_BASE: i32 = 256 + 65536 + (ABOVE_O0() ? 257 * 256 : 0);
const MATCH_MIN: i32 = 6;
/** Mixer 1's weights also by whether the highest order seen was seen more than twice. */
const MIXER_CONFIDENCE: bool = true;
const MIXER_SETS: i32 = 256 * 4 * 8 * (UTF8_MIXER === 2 ? 2 : 1) * (MIXER_CONFIDENCE ? 2 : 1) * (LEN_MIXER1() ? 2 : 1);
const MIXER2_SETS: i32 = 256 * 8 * (UTF8_MIXER === 1 ? 4 : 1) * (COLUMN_MIXER() === 1 ? 2 : 1);
const MIXER_RATE: i32 = 32;
const COUNT_LIMIT: i32 = 255;
/** While coding a record (frozen), counters adapt no slower than at this count. */
const FROZEN_RATE_LIMIT: i32 = 10;
/** The mixers' learning rate while coding a record (frozen). */
const MIXER_RATE_FROZEN: i32 = 64;
const APM_RATE: i32 = 6;
/** The APMs' rate (a shift) while coding a record (frozen). */
const APM_RATE_FROZEN: i32 = 5;
/** The hashed contexts' counters are logged a whole bucket at a time, when a nibble starts (BUCKET_LOG), not one counter per bit. */
const BUCKET_LOG: bool = true;
/** At the end of `predict`, touch what the next bit will read (touchAhead): off, measured +1.8 % instructions for coding and no faster in CPU time on this shared 2-core machine (load 13-16, 0.95x / 0.97x interleaved); a quiet machine may differ. */
const PREFETCH: bool = false;
/**
 * The first counter is never logged per bit: the order-0 counters (1 KiB) are copied back after a record (ORDER0_COPY),
 * or ABOVE_O0()'s rows the record used; an order-1 APM entry is logged as one u32 (both ends).
 */
const ORDER0_COPY: bool = !ABOVE_O0();
const UNDO_PER_BYTE: i32 = 8 * (COUNTERS - (BUCKET_LOG ? HASHED : 0) - 1) + 1 + (APM_ORDER1 ? 8 : 0) + (APM_ORDER2 ? 16 : 0) + (MATCH2 !== 0 ? 1 : 0) + (INDIRECT() ? 2 : 0);
/** i32s of bucket log per byte: two nibbles, each HASHED buckets of an index and 16 counters. */
const BUCKET_LOG_PER_BYTE: i32 = BUCKET_LOG ? 2 * HASHED * 17 : 0;
/** Longer records are coded without an undo log (it would need 8 × UNDO_PER_BYTE bytes per byte); the caller reloads the model after them. */
const UNDO_MAX_BYTES: i32 = 64 * 1024;
const INITIAL_COUNTER: i32 = 32768 << 16;
const SCRATCH_BITS: i32 = 16;
const SCRATCH_BUCKETS: i32 = (1 << SCRATCH_BITS) >> 4;
const INITIAL_WEIGHT: i32 = MIXER16 ? 2500 : 20000;
/** Bytes per weight and per input (MIXER16: i16), a weight set's bytes, and the dot product's shift to 12-bit stretch units. */
const WEIGHT_SHIFT: i32 = MIXER16 ? 1 : 2;
/** Weights per set: with MIXER16 the inputs padded to whole v128s of 8 (zero inputs, whose weights never change). */
const STRIDE: i32 = MIXER16 ? (INPUTS + 7) & ~7 : INPUTS;
const SET_BYTES: i32 = STRIDE << WEIGHT_SHIFT;
const DOT_SHIFT: i64 = MIXER16 ? 13 : 16;
const ALL_SETS: i32 = MIXER_SETS + MIXER2_SETS + MIXER3_SETS + MIXER4_SETS();
/** computeSlots writes the six counters' stretches into the mixer inputs from the values it reads anyway (nothing writes a counter between it and predict), instead of predict reading every slot and counter again. */
const INPUTS_AT_SLOTS: bool = BIT_HISTORY === 0 && HASHED === 4 && SIMD_MIXER;

/** Bit-history states (BIT_HISTORY): 215 states; state s moves to bhNext(2s + bit). Generated by asm/bit-history-states.mjs (the rule is there; its two arrays pasted into bhNext and bhPrior). */
const BH_STATES: i32 = 215;
// The tables live in functions that only BIT_HISTORY's code calls, so that a build with it off has no such data
// (and version 6's WebAssembly stays byte for byte what it was).
@inline function bhNext(index: i32): i32 {
  const table = memory.data<u8>([
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 9, 10, 11, 12, 13, 8, 14, 15, 14, 15, 16, 17, 16, 17, 11, 18, 19, 20, 21, 15,
  22, 23, 22, 23, 16, 24, 25, 26, 27, 20, 21, 15, 28, 29, 30, 23, 22, 31, 32, 33, 16, 24, 25, 34, 35, 36, 37, 29, 30, 23,
  38, 39, 40, 41, 22, 31, 32, 42, 43, 44, 45, 36, 28, 29, 46, 47, 48, 39, 30, 31, 30, 31, 40, 49, 50, 51, 32, 33, 43, 52,
  53, 54, 55, 47, 38, 39, 56, 57, 58, 59, 40, 41, 50, 60, 61, 62, 63, 54, 37, 29, 64, 65, 66, 57, 38, 67, 68, 41, 58, 69,
  70, 71, 32, 42, 61, 72, 73, 74, 75, 65, 48, 39, 76, 77, 68, 41, 38, 67, 78, 79, 40, 49, 70, 80, 81, 82, 83, 74, 46, 47,
  84, 85, 86, 77, 48, 67, 68, 49, 78, 87, 88, 89, 50, 51, 81, 90, 91, 92, 93, 85, 56, 57, 94, 95, 96, 97, 58, 59, 88, 98,
  99, 100, 101, 92, 55, 47, 102, 103, 104, 95, 56, 105, 106, 59, 96, 107, 108, 109, 50, 60, 99, 110, 111, 112, 113, 103, 66, 57, 104, 114,
  115, 116, 115, 116, 117, 107, 58, 69, 108, 118, 119, 120, 121, 112, 64, 65, 122, 123, 66, 105, 48, 67, 68, 49, 106, 69, 124, 125, 70, 71,
  119, 126, 127, 128, 129, 123, 76, 77, 78, 79, 124, 130, 131, 132, 133, 128, 75, 65, 134, 135, 136, 137, 70, 80, 131, 138, 139, 140, 141, 135,
  86, 77, 78, 87, 136, 142, 143, 144, 145, 140, 84, 85, 146, 147, 148, 149, 88, 89, 143, 150, 151, 152, 153, 147, 94, 95, 96, 97, 148, 154,
  155, 156, 157, 152, 93, 85, 153, 158, 159, 154, 88, 98, 155, 160, 161, 162, 104, 95, 96, 107, 163, 164, 165, 162, 102, 103, 108, 109, 163, 166,
  167, 168, 169, 170, 171, 168, 113, 103, 108, 118, 169, 172, 173, 174, 175, 176, 177, 174, 122, 123, 124, 125, 175, 178, 179, 180, 181, 182, 183, 180,
  129, 123, 124, 130, 181, 184, 185, 186, 187, 188, 189, 186, 134, 135, 136, 137, 187, 190, 191, 192, 193, 194, 195, 192, 141, 135, 136, 142, 193, 196,
  197, 198, 199, 200, 201, 198, 146, 147, 148, 149, 199, 202, 203, 204, 205, 206, 207, 204, 153, 147, 148, 154, 205, 208, 209, 210, 211, 212, 213, 210,
  153, 158, 159, 154, 211, 214, 213, 210, 211, 214,
  ]);
  return <i32>load<u8>(table + <usize>index);
}
/** Each state's starting probability of a 1 (16 bits): (n1 + ½) / (n0 + n1 + 1). */
function bhPrior(state: i32): i32 {
  const table = memory.data<u16>([
  32768, 16384, 49152, 10922, 32768, 32768, 54613, 8192, 24576, 24576, 40960, 40960, 57344, 6553, 19660, 32768, 32768, 45875, 58982, 5461,
  19660, 16384, 27306, 38229, 49152, 45875, 60074, 4681, 14043, 27306, 23405, 42130, 38229, 51492, 60854, 4096, 16384, 12288, 20480, 32768,
  32768, 45056, 53248, 49152, 61440, 3640, 10922, 23405, 18204, 47331, 42130, 54613, 61895, 3276, 14043, 9830, 16384, 28672, 36864, 49152,
  55705, 51492, 62259, 2978, 8936, 20480, 14894, 36864, 28672, 50641, 45056, 56599, 62557, 2730, 12288, 8192, 13653, 25486, 40049, 51882,
  57344, 53248, 62805, 2520, 7561, 18204, 12603, 52932, 47331, 57974, 63015, 2340, 10922, 7021, 11702, 22937, 42598, 53833, 58514, 54613,
  63195, 2184, 6553, 16384, 10922, 32768, 32768, 54613, 49152, 58982, 63351, 2048, 9830, 6144, 20852, 25486, 40049, 44683, 59392, 55705,
  63488, 1927, 5782, 14894, 50641, 59753, 63608, 1820, 8936, 5461, 60074, 56599, 63715, 1724, 5173, 13653, 51882, 60362, 63811, 1638,
  8192, 4915, 60620, 57344, 63897, 1560, 4681, 12603, 52932, 60854, 63975, 1489, 7561, 4468, 61067, 57974, 64046, 1424, 11702, 53833,
  64111, 1365, 7021, 58514, 64170, 1310, 64225, 1260, 6553, 58982, 64275, 1213, 64322, 1170, 6144, 59392, 64365, 1129, 64406, 1092,
  5782, 59753, 64443, 1057, 64478, 1024, 5461, 60074, 64512, 992, 64543, 963, 5173, 60362, 64572, 936, 64599, 910, 4915, 60620,
  64625, 885, 64650, 862, 4681, 60854, 64673, 840, 64695, 819, 4468, 61067, 64716, 799, 64736,
  ]);
  return <i32>load<u16>(table + (<usize>state << 1));
}

// Layout of linear memory (byte offsets), fixed by init().
let stretchTable: usize = 0; // i16 × 4096
let squashTable: usize = 0; // i16 × 4096
let rateTable: usize = 0; // i32 × (COUNT_LIMIT + 1)
let counters: usize = 0; // i32 × (scratchBase + 2^SCRATCH_BITS)
let matchTable: usize = 0; // i32 × 2^matchBits
let weights: usize = 0; // i32 × MIXER_SETS × INPUTS
let weights2: usize = 0; // i32 × MIXER2_SETS × INPUTS
let pristineWeights: usize = 0;
let pristineWeights2: usize = 0;
let weights3: usize = 0; // (MIXER3) MIXER3_SETS × INPUTS weights
let pristineWeights3: usize = 0;
let apm: usize = 0; // u16 × 256 × 33
let apm1: usize = 0; // u16 × 65536 × 33
let apm2: usize = 0; // u16 × 65536 × 33
let pristineApm: usize = 0;
let matchCounters: usize = 0; // u16 × 64
let pristineMatchCounters: usize = 0;
let pristineOrder0: usize = 0; // i32 × 256 (ORDER0_COPY); ABOVE_O0(): the above table's rows as frozen, then aboveRows()
let stateMaps: usize = 0; // (BIT_HISTORY) i32 × COUNTERS × 256
let pristineStateMaps: usize = 0;
let smRateTable: usize = 0; // (BIT_HISTORY) i32 × 256: 65536 / (2n + 3)
let stretched: usize = 0; // i32 × INPUTS (MIXER16: i16 × INPUTS)
let slots: usize = 0; // i32 × COUNTERS
let nibbleBase: usize = 0; // i32 × HASHED
let contextHash: usize = 0; // i32 × HASHED
let claimedScratch: usize = 0; // i32 × SCRATCH_BUCKETS
let history: usize = 0; // u8 × historyCapacity, then the undo log (i32 pairs)
let historyCapacity: i32 = 0;
let undo: usize = 0;
let undoCapacity: i32 = 0;
/** The bucket log (BUCKET_LOG): right after the undo log's capacity; entries of 17 i32s (a bucket's index, then its 16 counters as they were). */
let bucketLog: usize = 0;
let bucketLogLength: i32 = 0;

let scratchBase: i32 = 0;
let hashShift: i32 = 0;
let matchBits: i32 = 0;
let matchShift: i32 = 0;

let frozen = false;
/** Whether this record's changes are being logged for rollback. */
let logging = false;
let historyLength: i32 = 0;
let frozenHistoryLength: i32 = 0;
let undoLength: i32 = 0;
let claimedScratchLength: i32 = 0;

let c0: i32 = 1;
let bitPosition: i32 = 0;
let c4: i32 = 0;
let c8: i32 = 0;
let word: i32 = 0;
let previousWord: i32 = 0;
let asciiWord = true;
/** UTF-8: the bytes of the character in progress (0 at a character's start), how many, and the last three whole characters (their bytes packed). */
let charPending: i32 = 0;
let charPosition: i32 = 0;
let charNeed: i32 = 0;
let char1: i32 = 0;
let char2: i32 = 0;
let char3: i32 = 0;
let matchPtr: i32 = 0;
let matchLength: i32 = 0;
let predictedByte: i32 = 0;
let matchCounter: i32 = -1;
let mixerBase: i32 = 0;
let mixer2Base: i32 = 0;
let mixer3Base: i32 = 0;
let p1: i32 = 2048;
let p2: i32 = 2048;
let p3: i32 = 2048;
let pMix: i32 = 2048;
let apmIndex: i32 = 0;
let apmWeight: i32 = 0;
let apm1Index: i32 = 0;
let apm2Index: i32 = 0;
let byteProbabilities: usize = 0; // i32 × 8
let touchedSets: usize = 0; // u8 × ALL_SETS: 1 where a record changed that weight set
let touchedList: usize = 0; // i32 × ALL_SETS: the sets changed, in order
let touchedLength: i32 = 0;
let nibbleMixed: usize = 0; // i32 × HASHED
let nibbleHome: usize = 0; // i32 × HASHED
let sink: usize = 0; // i32: where reads made only to start a cache miss early are stored, so that they are kept
/**
 * The record I/O area (`recordIO`): a record's input (its bytes to encode, or the payload to decode) at ioIn, its
 * output at ioOut. It lies past everything `reserve` laid out and does not move `top`, so the history, the undo log
 * and the bucket log, which beginRecord and ensureHistory re-reserve at the end, grow over it; it is laid out again
 * for every record, after beginRecord.
 */
let ioIn: usize = 0;
let ioOut: usize = 0;

@inline function i32At(base: usize, index: i32): i32 {
  return load<i32>(base + (<usize>index << 2));
}
@inline function setI32(base: usize, index: i32, value: i32): void {
  store<i32>(base + (<usize>index << 2), value);
}
@inline function u16At(base: usize, index: i32): i32 {
  return <i32>load<u16>(base + (<usize>index << 1));
}
@inline function setU16(base: usize, index: i32, value: i32): void {
  store<u16>(base + (<usize>index << 1), <u16>value);
}
@inline function stretch(p12: i32): i32 {
  return <i32>load<i16>(stretchTable + (<usize>p12 << 1));
}
@inline function squash(d: i32): i32 {
  return <i32>load<i16>(squashTable + (<usize>(d + 2048) << 1));
}

/** Reserves `bytes` at the end of what is laid out so far, growing memory when needed. */
let top: usize = 0;
function reserve(bytes: usize): usize {
  const at = (top + 63) & ~(<usize>63);
  top = at + bytes;
  const needed = <i32>((top + 0xffff) >> 16);
  const have = memory.size();
  if (needed > have) memory.grow(needed - have);
  return at;
}

const SQUASH_POINTS: StaticArray<i32> = [
  1, 2, 3, 6, 10, 16, 27, 45, 73, 120, 194, 310, 488, 747, 1101, 1546, 2047, 2549, 2994, 3348, 3607, 3785, 3901, 3975, 4022, 4050, 4068, 4079, 4085,
  4089, 4092, 4093, 4094,
];

function squashSlow(d: i32): i32 {
  if (d > 2047) return 4095;
  if (d < -2047) return 1;
  const w = d & 127;
  const i = (d >> 7) + 16;
  return (unchecked(SQUASH_POINTS[i]) * (128 - w) + unchecked(SQUASH_POINTS[i + 1]) * w + 64) >> 7;
}

// Saved state: every global above, so a copy of linear memory plus this block is the whole model.
// The JavaScript side keeps such a copy as a derived cache (src/codec/cm/derived-state.ts).
// 80 slots take the same 640 bytes (reserve aligns to 64) as the 76 before the record I/O area's two.
const STATE_SLOTS: i32 = 80;
let stateBlock: usize = 0; // i64 × STATE_SLOTS

/** Writes every global into the state block and returns its address; linear memory then holds the whole model. */
export function saveState(): usize {
  const at = stateBlock;
  store<i64>(at + 0, <i64>stretchTable);
  store<i64>(at + 8, <i64>squashTable);
  store<i64>(at + 16, <i64>rateTable);
  store<i64>(at + 24, <i64>counters);
  store<i64>(at + 32, <i64>matchTable);
  store<i64>(at + 40, <i64>weights);
  store<i64>(at + 48, <i64>weights2);
  store<i64>(at + 56, <i64>pristineWeights);
  store<i64>(at + 64, <i64>pristineWeights2);
  store<i64>(at + 72, <i64>apm);
  store<i64>(at + 80, <i64>apm1);
  store<i64>(at + 88, <i64>pristineApm);
  store<i64>(at + 96, <i64>matchCounters);
  store<i64>(at + 104, <i64>pristineMatchCounters);
  store<i64>(at + 112, <i64>stretched);
  store<i64>(at + 120, <i64>slots);
  store<i64>(at + 128, <i64>nibbleBase);
  store<i64>(at + 136, <i64>contextHash);
  store<i64>(at + 144, <i64>claimedScratch);
  store<i64>(at + 152, <i64>history);
  store<i64>(at + 160, <i64>historyCapacity);
  store<i64>(at + 168, <i64>undo);
  store<i64>(at + 176, <i64>undoCapacity);
  store<i64>(at + 184, <i64>scratchBase);
  store<i64>(at + 192, <i64>hashShift);
  store<i64>(at + 200, <i64>matchBits);
  store<i64>(at + 208, <i64>matchShift);
  store<i64>(at + 216, frozen ? 1 : 0);
  store<i64>(at + 224, logging ? 1 : 0);
  store<i64>(at + 232, <i64>historyLength);
  store<i64>(at + 240, <i64>frozenHistoryLength);
  store<i64>(at + 248, <i64>undoLength);
  store<i64>(at + 256, <i64>claimedScratchLength);
  store<i64>(at + 264, <i64>c0);
  store<i64>(at + 272, <i64>bitPosition);
  store<i64>(at + 280, <i64>c4);
  store<i64>(at + 288, <i64>c8);
  store<i64>(at + 296, <i64>word);
  store<i64>(at + 304, <i64>previousWord);
  store<i64>(at + 312, asciiWord ? 1 : 0);
  store<i64>(at + 320, <i64>matchPtr);
  store<i64>(at + 328, <i64>matchLength);
  store<i64>(at + 336, <i64>predictedByte);
  store<i64>(at + 344, <i64>matchCounter);
  store<i64>(at + 352, <i64>mixerBase);
  store<i64>(at + 360, <i64>mixer2Base);
  store<i64>(at + 368, <i64>p1);
  store<i64>(at + 376, <i64>p2);
  store<i64>(at + 384, <i64>pMix);
  store<i64>(at + 392, <i64>apmIndex);
  store<i64>(at + 400, <i64>apmWeight);
  store<i64>(at + 408, <i64>apm1Index);
  store<i64>(at + 416, <i64>byteProbabilities);
  store<i64>(at + 424, <i64>top);
  store<i64>(at + 432, <i64>apm2);
  store<i64>(at + 440, <i64>apm2Index);
  store<i64>(at + 448, <i64>touchedSets);
  store<i64>(at + 456, <i64>touchedList);
  store<i64>(at + 464, <i64>touchedLength);
  store<i64>(at + 472, <i64>nibbleMixed);
  store<i64>(at + 480, <i64>nibbleHome);
  store<i64>(at + 488, <i64>sink);
  store<i64>(at + 496, <i64>charPending);
  store<i64>(at + 504, <i64>charPosition);
  store<i64>(at + 512, <i64>charNeed);
  store<i64>(at + 520, <i64>char1);
  store<i64>(at + 528, <i64>char2);
  store<i64>(at + 536, <i64>char3);
  store<i64>(at + 544, <i64>bucketLog);
  store<i64>(at + 552, <i64>bucketLogLength);
  store<i64>(at + 560, <i64>pristineOrder0);
  store<i64>(at + 568, <i64>weights3);
  store<i64>(at + 576, <i64>pristineWeights3);
  store<i64>(at + 584, <i64>mixer3Base);
  store<i64>(at + 592, <i64>p3);
  if (BIT_HISTORY !== 0) {
    store<i64>(at + 600, <i64>stateMaps);
    store<i64>(at + 608, <i64>pristineStateMaps);
    store<i64>(at + 616, <i64>smRateTable);
  }
  store<i64>(at + 624, <i64>ioIn);
  store<i64>(at + 632, <i64>ioOut);
  return at;
}

/** The inverse of `saveState`, on an instance whose linear memory was overwritten with a saved copy. */
export function loadState(at: usize): void {
  stretchTable = <usize>load<i64>(at + 0);
  squashTable = <usize>load<i64>(at + 8);
  rateTable = <usize>load<i64>(at + 16);
  counters = <usize>load<i64>(at + 24);
  matchTable = <usize>load<i64>(at + 32);
  weights = <usize>load<i64>(at + 40);
  weights2 = <usize>load<i64>(at + 48);
  pristineWeights = <usize>load<i64>(at + 56);
  pristineWeights2 = <usize>load<i64>(at + 64);
  apm = <usize>load<i64>(at + 72);
  apm1 = <usize>load<i64>(at + 80);
  pristineApm = <usize>load<i64>(at + 88);
  matchCounters = <usize>load<i64>(at + 96);
  pristineMatchCounters = <usize>load<i64>(at + 104);
  stretched = <usize>load<i64>(at + 112);
  slots = <usize>load<i64>(at + 120);
  nibbleBase = <usize>load<i64>(at + 128);
  contextHash = <usize>load<i64>(at + 136);
  claimedScratch = <usize>load<i64>(at + 144);
  history = <usize>load<i64>(at + 152);
  historyCapacity = <i32>load<i64>(at + 160);
  undo = <usize>load<i64>(at + 168);
  undoCapacity = <i32>load<i64>(at + 176);
  scratchBase = <i32>load<i64>(at + 184);
  hashShift = <i32>load<i64>(at + 192);
  matchBits = <i32>load<i64>(at + 200);
  matchShift = <i32>load<i64>(at + 208);
  frozen = load<i64>(at + 216) !== 0;
  logging = load<i64>(at + 224) !== 0;
  historyLength = <i32>load<i64>(at + 232);
  frozenHistoryLength = <i32>load<i64>(at + 240);
  undoLength = <i32>load<i64>(at + 248);
  claimedScratchLength = <i32>load<i64>(at + 256);
  c0 = <i32>load<i64>(at + 264);
  bitPosition = <i32>load<i64>(at + 272);
  c4 = <i32>load<i64>(at + 280);
  c8 = <i32>load<i64>(at + 288);
  word = <i32>load<i64>(at + 296);
  previousWord = <i32>load<i64>(at + 304);
  asciiWord = load<i64>(at + 312) !== 0;
  matchPtr = <i32>load<i64>(at + 320);
  matchLength = <i32>load<i64>(at + 328);
  predictedByte = <i32>load<i64>(at + 336);
  matchCounter = <i32>load<i64>(at + 344);
  mixerBase = <i32>load<i64>(at + 352);
  mixer2Base = <i32>load<i64>(at + 360);
  p1 = <i32>load<i64>(at + 368);
  p2 = <i32>load<i64>(at + 376);
  pMix = <i32>load<i64>(at + 384);
  apmIndex = <i32>load<i64>(at + 392);
  apmWeight = <i32>load<i64>(at + 400);
  apm1Index = <i32>load<i64>(at + 408);
  byteProbabilities = <usize>load<i64>(at + 416);
  top = <usize>load<i64>(at + 424);
  apm2 = <usize>load<i64>(at + 432);
  apm2Index = <i32>load<i64>(at + 440);
  touchedSets = <usize>load<i64>(at + 448);
  touchedList = <usize>load<i64>(at + 456);
  touchedLength = <i32>load<i64>(at + 464);
  nibbleMixed = <usize>load<i64>(at + 472);
  nibbleHome = <usize>load<i64>(at + 480);
  sink = <usize>load<i64>(at + 488);
  charPending = <i32>load<i64>(at + 496);
  charPosition = <i32>load<i64>(at + 504);
  charNeed = <i32>load<i64>(at + 512);
  char1 = <i32>load<i64>(at + 520);
  char2 = <i32>load<i64>(at + 528);
  char3 = <i32>load<i64>(at + 536);
  bucketLog = <usize>load<i64>(at + 544);
  bucketLogLength = <i32>load<i64>(at + 552);
  pristineOrder0 = <usize>load<i64>(at + 560);
  weights3 = <usize>load<i64>(at + 568);
  pristineWeights3 = <usize>load<i64>(at + 576);
  mixer3Base = <i32>load<i64>(at + 584);
  p3 = <i32>load<i64>(at + 592);
  if (BIT_HISTORY !== 0) {
    stateMaps = <usize>load<i64>(at + 600);
    pristineStateMaps = <usize>load<i64>(at + 608);
    smRateTable = <usize>load<i64>(at + 616);
  }
  ioIn = <usize>load<i64>(at + 624);
  ioOut = <usize>load<i64>(at + 632);
  stateBlock = at;
}

/** A new weight set's weight for input `input`: BIT_HISTORY 1 with BH_INIT 1 halves the counters' and the StateMaps' (their sum as one input's), with BH_INIT 2 the StateMaps' start at 0. */
@inline function initialWeight(input: i32): i32 {
  if (NEW_INPUTS_AT_ZERO() && ((EXTRA_CONTEXT !== 0 && EXTRA_CONTEXT < 8 && input === COUNTERS - 1) || (MATCH2 !== 0 && input === (COUNTERS + (NO_BIAS() ? 1 : 2))))) return 0;
  if (BIT_HISTORY === 1 && BH_INIT !== 0) {
    const stateInput = input >= SM_INPUT && input < SM_INPUT + COUNTERS;
    if (BH_INIT === 2) return stateInput ? 0 : INITIAL_WEIGHT;
    return stateInput || input < COUNTERS ? INITIAL_WEIGHT >> 1 : INITIAL_WEIGHT;
  }
  return INITIAL_WEIGHT;
}

/** Lays out memory for a model with 2^tableBitsValue hashed slots and 2^matchBitsValue match slots. */
export function init(tableBitsValue: i32, matchBitsValue: i32): void {
  top = <usize>memory.size() << 16;
  stretchTable = reserve(4096 * 2);
  squashTable = reserve(4096 * 2);
  rateTable = reserve((COUNT_LIMIT + 1) * 4);
  scratchBase = HASHED_BASE + (1 << tableBitsValue);
  hashShift = 32 - tableBitsValue;
  if (PAGE_NIBBLES()) {
    // The hashed region starts on a 4 KiB page (the byte's two buckets of a context share one: computeNibbleBases).
    top = ((top + <usize>HASHED_BASE * 4 + 4095) & ~(<usize>4095)) - <usize>HASHED_BASE * 4;
  }
  counters = reserve(<usize>(scratchBase + (1 << SCRATCH_BITS)) * 4);
  matchBits = matchBitsValue;
  matchShift = 32 - matchBitsValue;
  matchTable = reserve(<usize>(1 << matchBitsValue) * 4 * (MATCH2 !== 0 ? 2 : 1) + <usize>AUX_WORDS() * 4);
  weights = reserve(MIXER_SETS * SET_BYTES);
  weights2 = reserve(MIXER2_SETS * SET_BYTES);
  pristineWeights = reserve(MIXER_SETS * SET_BYTES);
  pristineWeights2 = reserve(MIXER2_SETS * SET_BYTES);
  if (MIXER3) {
    weights3 = reserve(MIXER3_SETS * SET_BYTES);
    pristineWeights3 = reserve(MIXER3_SETS * SET_BYTES);
  }
  apm = reserve(APM0_CONTEXTS * 33 * 2);
  if (APM_ORDER1) apm1 = reserve(65536 * 33 * 2);
  if (APM_ORDER2) apm2 = reserve(65536 * 33 * 2);
  pristineApm = reserve(APM0_CONTEXTS * 33 * 2);
  matchCounters = reserve(MATCH_COUNTERS() * 2);
  pristineMatchCounters = reserve(MATCH_COUNTERS() * 2);
  pristineOrder0 = reserve(ABOVE_O0() ? ABOVE_TABLE_BYTES + ABOVE_ROWS_BYTES : 256 * 4);
  if (BIT_HISTORY !== 0) {
    stateMaps = reserve(COUNTERS * 256 * 4);
    pristineStateMaps = reserve(COUNTERS * 256 * 4);
    smRateTable = reserve(256 * 4);
  }
  stretched = reserve(STRIDE * 4);
  // The counters' slots (at most 8), stop 27's 8 i32s at +32 (s27), stop 28's at +64 (s28).
  slots = reserve(32 + (MATCH2 !== 0 || LINES() || STOP28_OPTIONS !== 0 || ABOVE_O0() ? 32 : 0) + S28_BYTES());
  nibbleBase = reserve(HASHED * 4);
  contextHash = reserve(HASHED * 4);
  claimedScratch = reserve(SCRATCH_BUCKETS * 4);
  historyCapacity = 1 << 16;
  stateBlock = reserve(STATE_SLOTS * 8);
  byteProbabilities = reserve(8 * 4);
  touchedSets = reserve(ALL_SETS);
  touchedList = reserve(ALL_SETS * 4);
  nibbleMixed = reserve(HASHED * 4);
  nibbleHome = reserve(HASHED * 4);
  sink = reserve(4);
  history = reserve(historyCapacity);

  for (let x = -2047, pi = 0; x <= 2047; x++) {
    const v = squashSlow(x);
    for (let j = pi; j <= v; j++) store<i16>(stretchTable + (<usize>j << 1), <i16>x);
    pi = v + 1;
    if (x === 2047) for (let j = pi; j < 4096; j++) store<i16>(stretchTable + (<usize>j << 1), 2047);
  }
  for (let d = -2048; d < 2048; d++) store<i16>(squashTable + (<usize>(d + 2048) << 1), <i16>squashSlow(d));
  for (let n = 0; n <= COUNT_LIMIT; n++) setI32(rateTable, n, max(4, 2048 / (2 * n + 3)));
  for (let i = 0; i < scratchBase + (1 << SCRATCH_BITS); i++) setI32(counters, i, INITIAL_COUNTER);
  for (let i = 0; i < MIXER_SETS * STRIDE; i++) setWeight(weights, i, initialWeight(i % STRIDE));
  for (let i = 0; i < MIXER2_SETS * STRIDE; i++) setWeight(weights2, i, initialWeight(i % STRIDE));
  for (let i = 0; i < MIXER3_SETS * STRIDE; i++) setWeight(weights3, i, initialWeight(i % STRIDE));
  if (BIT_HISTORY !== 0) {
    for (let n = 0; n < 256; n++) setI32(smRateTable, n, 65536 / (2 * n + 3));
    for (let i = 0; i < COUNTERS; i++) {
      for (let st = 0; st < 256; st++) setI32(stateMaps, i * 256 + st, (st < BH_STATES ? bhPrior(st) : 32768) << 16);
    }
  }
  for (let ctx = 0; ctx < APM0_CONTEXTS; ctx++) {
    for (let j = 0; j < 33; j++) setU16(apm, ctx * 33 + j, squashSlow((j - 16) * 128) * 16);
  }
  if (APM_ORDER1) {
    for (let ctx = 0; ctx < 65536; ctx++) {
      for (let j = 0; j < 33; j++) setU16(apm1, ctx * 33 + j, squashSlow((j - 16) * 128) * 16);
    }
  }
  if (APM_ORDER2) {
    for (let ctx = 0; ctx < 65536; ctx++) {
      for (let j = 0; j < 33; j++) setU16(apm2, ctx * 33 + j, squashSlow((j - 16) * 128) * 16);
    }
  }
  for (let i = 0; i < MATCH_COUNTERS(); i++) setU16(matchCounters, i, 32768);
  if (MATCH_APM()) {
    for (let ctx = 0; ctx < MATCH_APM_CONTEXTS(); ctx++) {
      for (let j = 0; j < 33; j++) setU16(matchApm(), ctx * 33 + j, squashSlow((j - 16) * 128) * 16);
    }
  }
  if (MIXER4() !== 0) for (let i = 0; i < MIXER4_SETS() * STRIDE; i++) setWeight(weights4(), i, initialWeight(i % STRIDE));
  if (FINAL_LAYER() !== 0) {
    for (let i = 0; i < FL_SETS(); i++) {
      const w = finalWeights() + <usize>(i * 16);
      store<i32>(w, 21845);
      store<i32>(w + 4, 21845);
      store<i32>(w + 8, 21846);
      store<i32>(w + 12, 0);
    }
  }
  if (!NO_BIAS()) setInput(COUNTERS + 1, BIAS);
  beginRecord(0);
}

/** Ends training: from now on every record starts from this state and is rolled back after. */
export function freeze(): void {
  frozen = true;
  memory.copy(pristineWeights, weights, MIXER_SETS * SET_BYTES);
  memory.copy(pristineWeights2, weights2, MIXER2_SETS * SET_BYTES);
  if (MIXER3) memory.copy(pristineWeights3, weights3, MIXER3_SETS * SET_BYTES);
  memory.copy(pristineApm, apm, APM0_CONTEXTS * 33 * 2);
  if (MATCH_APM()) memory.copy(pristineMatchApm(), matchApm(), MATCH_APM_CONTEXTS() * 33 * 2);
  if (MIXER4() !== 0) memory.copy(pristineWeights4(), weights4(), MIXER4_SETS() * SET_BYTES);
  if (FINAL_LAYER() !== 0) memory.copy(pristineFinalWeights(), finalWeights(), FL_SETS() * 16);
  memory.copy(pristineMatchCounters, matchCounters, MATCH_COUNTERS() * 2);
  if (ORDER0_COPY) memory.copy(pristineOrder0, counters, 256 * 4);
  if (ABOVE_O0()) memory.copy(pristineOrder0, counters + (<usize>ABOVE_BASE() << 2), ABOVE_TABLE_BYTES);
  if (BIT_HISTORY !== 0 && !SM_FROZEN) memory.copy(pristineStateMaps, stateMaps, COUNTERS * 256 * 4);
  frozenHistoryLength = historyLength;
}

/** Resets the byte context to a record boundary, with room for a record of `length` bytes. */
export function beginRecord(length: i32): void {
  ensureHistory(historyLength + length + 1);
  logging = frozen && length <= UNDO_MAX_BYTES;
  if (logging) {
    const needed = (length + 1) * UNDO_PER_BYTE;
    if (needed > undoCapacity) {
      top = history + <usize>historyCapacity;
      undo = reserve(<usize>needed * 8 + <usize>((length + 1) * BUCKET_LOG_PER_BYTE) * 4);
      undoCapacity = needed;
      bucketLog = undo + <usize>needed * 8;
    }
  }
  c0 = 1;
  bitPosition = 0;
  c4 = 0;
  c8 = 0;
  word = 0;
  previousWord = 0;
  asciiWord = true;
  charPending = 0;
  charPosition = 0;
  charNeed = 0;
  char1 = 0;
  char2 = 0;
  char3 = 0;
  matchLength = 0;
  if (MATCH2 !== 0) setS27(1, 0);
  if (LINES()) {
    setS27(4, historyLength);
    setS27(5, -1);
  }
  if (STOP28_OPTIONS !== 0) {
    setS28(0, historyLength);
    const lb = length < 32 ? 0 : min(31 - clz<i32>(length) - 4, 7);
    setS28(1, lb);
    setS28(8, 0);
    setS28(9, ADAPT_RATE() === 1 ? (lb < 2 ? ADAPT_LOW() : lb < 4 ? 12 : FROZEN_RATE_LIMIT) : FROZEN_RATE_LIMIT);
    setS28(10, MIXER_RATE_FROZEN);
  }
  afterByte();
}

/** Ends a training record: a separator joins the history so matches do not run across records. */
export function endTrainingRecord(): void {
  appendHistory(0);
}

/**
 * Rolls back every change since `beginRecord` (frozen models only). Returns 1 when the record
 * was too long to log: the state is no longer the snapshot's, and the caller must reload it.
 */
export function endRecord(): i32 {
  if (!frozen) return 0;
  if (!logging) return 1;
  for (let i = undoLength - 1; i >= 0; i--) {
    const slot = load<i32>(undo + (<usize>i << 3));
    const value = load<i32>(undo + (<usize>i << 3) + 4);
    if (APM_ORDER1 && slot >= APM1_TAG) store<u32>(apm1 + (<usize>(slot - APM1_TAG) << 1), <u32>value);
    else if (APM_ORDER2 && slot >= APM2_TAG) setU16(apm2, slot - APM2_TAG, value);
    else if (slot >= 0) setI32(counters, slot, value);
    else setI32(matchTable, -1 - slot, value);
  }
  undoLength = 0;
  if (BUCKET_LOG) {
    for (let i = bucketLogLength - 1; i >= 0; i--) {
      const entry = bucketLog + <usize>(i * 17 * 4);
      const to = counters + (<usize>load<i32>(entry) << 2);
      v128.store(to, v128.load(entry + 4));
      v128.store(to + 16, v128.load(entry + 20));
      v128.store(to + 32, v128.load(entry + 36));
      v128.store(to + 48, v128.load(entry + 52));
    }
    bucketLogLength = 0;
  }
  for (let i = 0; i < claimedScratchLength; i++) {
    const bucket = i32At(claimedScratch, i);
    for (let k = 0; k < 16; k++) setI32(counters, bucket + k, INITIAL_COUNTER);
  }
  claimedScratchLength = 0;
  // Only the weight sets this record changed go back to the snapshot's (the same result as copying all 320 KiB).
  for (let i = 0; i < touchedLength; i++) {
    const set = i32At(touchedList, i);
    store<u8>(touchedSets + <usize>set, 0);
    let to: usize = 0;
    let from: usize = 0;
    if (set < MIXER_SETS) {
      to = weights + <usize>set * SET_BYTES;
      from = pristineWeights + <usize>set * SET_BYTES;
    } else if (!MIXER3 || set < MIXER_SETS + MIXER2_SETS) {
      to = weights2 + <usize>(set - MIXER_SETS) * SET_BYTES;
      from = pristineWeights2 + <usize>(set - MIXER_SETS) * SET_BYTES;
    } else if (MIXER4() !== 0 && set >= MIXER_SETS + MIXER2_SETS + MIXER3_SETS) {
      to = weights4() + <usize>(set - MIXER_SETS - MIXER2_SETS - MIXER3_SETS) * SET_BYTES;
      from = pristineWeights4() + <usize>(set - MIXER_SETS - MIXER2_SETS - MIXER3_SETS) * SET_BYTES;
    } else {
      to = weights3 + <usize>(set - MIXER_SETS - MIXER2_SETS) * SET_BYTES;
      from = pristineWeights3 + <usize>(set - MIXER_SETS - MIXER2_SETS) * SET_BYTES;
    }
    if (SET_BYTES === 16) {
      v128.store(to, v128.load(from));
    } else if (SET_BYTES === 32) {
      // Two vectors, not a memory.copy call per set.
      v128.store(to, v128.load(from));
      v128.store(to + 16, v128.load(from + 16));
    } else {
      memory.copy(to, from, SET_BYTES);
    }
  }
  touchedLength = 0;
  // LEN_APM() alone: a record touches only its length bucket's slice of the APM.
  if (LEN_APM() && !POS_APM()) memory.copy(apm + <usize>(s28(1) * 1024 * 33 * 2), pristineApm + <usize>(s28(1) * 1024 * 33 * 2), 1024 * 33 * 2);
  else memory.copy(apm, pristineApm, APM0_CONTEXTS * 33 * 2);
  if (MATCH_APM()) memory.copy(matchApm(), pristineMatchApm(), MATCH_APM_CONTEXTS() * 33 * 2);
  if (FINAL_LAYER() !== 0 && FL_IN_RECORD()) memory.copy(finalWeights(), pristineFinalWeights(), FL_SETS() * 16);
  memory.copy(matchCounters, pristineMatchCounters, MATCH_COUNTERS() * 2);
  if (ORDER0_COPY) memory.copy(counters, pristineOrder0, 256 * 4);
  if (ABOVE_O0()) {
    // The above table's rows this record used go back to the snapshot's (afterByte listed them).
    const rows = aboveRows();
    const count = load<i32>(rows + 260);
    for (let i = 0; i < count; i++) {
      const row = load<i32>(rows + 264 + (<usize>i << 2));
      store<u8>(rows + <usize>row, 0);
      memory.copy(counters + (<usize>(ABOVE_BASE() + (row << 8)) << 2), pristineOrder0 + (<usize>row << 10), 1024);
    }
    store<i32>(rows + 260, 0);
  }
  if (BIT_HISTORY !== 0 && !SM_FROZEN) memory.copy(stateMaps, pristineStateMaps, COUNTERS * 256 * 4);
  historyLength = frozenHistoryLength;
  return 0;
}

/** Mixer input `i` (i32, or i16 with MIXER16). */
@inline function setInput(i: i32, value: i32): void {
  if (MIXER16) store<i16>(stretched + (<usize>i << 1), <i16>value);
  else setI32(stretched, i, value);
}
@inline function setWeight(base: usize, index: i32, value: i32): void {
  if (MIXER16) store<i16>(base + (<usize>index << 1), <i16>value);
  else setI32(base, index, value);
}

@inline function stretchCounter(i: i32): void {
  if (BIT_HISTORY !== 0) {
    const value = i32At(counters, i32At(slots, i));
    const pState = stretch(<i32>(<u32>i32At(stateMaps, i * 256 + ((value >> 8) & 0xff)) >> 20));
    if (BIT_HISTORY === 1) {
      setInput(i, stretch(<i32>(<u32>value >> 20)));
      if (i >= BH_FIRST) setInput(SM_INPUT + i, pState);
    } else {
      setInput(i, pState);
    }
    return;
  }
  setInput(i, stretch(<i32>(<u32>i32At(counters, i32At(slots, i)) >> 20)));
}

/** Mixer `weightsBase`'s dot product with the inputs, in 16-bit units (>> DOT_SHIFT gives stretch units). */
@inline function dotProduct(weightsBase: usize, base: i32): i64 {
  const w = weightsBase + (<usize>base << WEIGHT_SHIFT);
  if (MIXER16) {
    let s = i32x4.dot_i16x8_s(v128.load(w), v128.load(stretched));
    if (STRIDE === 16) s = i32x4.add(s, i32x4.dot_i16x8_s(v128.load(w + 16), v128.load(stretched + 16)));
    // At most 8 × 32767 × 2047 in magnitude: no i32 overflow.
    return <i64>(i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3));
  }
  const x0 = v128.load(stretched);
  const x1 = v128.load(stretched + 16);
  const wa = v128.load(w);
  const wb = v128.load(w + 16);
  const s1 = i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(wa, x0), i64x2.extmul_high_i32x4_s(wa, x0)), i64x2.add(i64x2.extmul_low_i32x4_s(wb, x1), i64x2.extmul_high_i32x4_s(wb, x1)));
  return i64x2.extract_lane(s1, 0) + i64x2.extract_lane(s1, 1);
}

/** w += (x * err) >> 16 (32-bit: the same wrapping multiply and arithmetic shift as the scalar loop), or with MIXER16 w += round(x * (err >> 4) / 2^15), saturating. */
@inline function trainMixer(weightsBase: usize, base: i32, err: i32): void {
  const w = weightsBase + (<usize>base << WEIGHT_SHIFT);
  if (MIXER16) {
    const e = i16x8.splat(<i16>(err >> 4));
    v128.store(w, i16x8.add_sat_s(v128.load(w), i16x8.q15mulr_sat_s(v128.load(stretched), e)));
    if (STRIDE === 16) v128.store(w + 16, i16x8.add_sat_s(v128.load(w + 16), i16x8.q15mulr_sat_s(v128.load(stretched + 16), e)));
    return;
  }
  const e = i32x4.splat(err);
  v128.store(w, i32x4.add(v128.load(w), i32x4.shr_s(i32x4.mul(v128.load(stretched), e), 16)));
  v128.store(w + 16, i32x4.add(v128.load(w + 16), i32x4.shr_s(i32x4.mul(v128.load(stretched + 16), e), 16)));
}

/** Notes that a record changed weight set `set` (of all mixers' sets), for `endRecord`. */
@inline function touchSet(set: i32): void {
  if (load<u8>(touchedSets + <usize>set) === 0) {
    store<u8>(touchedSets + <usize>set, 1);
    setI32(touchedList, touchedLength, set);
    touchedLength++;
  }
}

/** P(next bit = 1) in 1..65535 out of 65536. */
export function predict(): i32 {
  return predictBit();
}

/** `predict`, inlined into `codeByte` and `step`. */
@inline function predictBit(): i32 {
  // The order-1 APM's row (66 bytes in a 4 MiB table) is known before the mixing: read both its
  // ends now so that the cache misses overlap with the work below.
  if (APM_ORDER1) {
    const row = apm1 + (<usize>((((c4 & 0xff) << 8) | c0) * 33) << 1);
    store<i32>(sink, <i32>load<u16>(row) ^ <i32>load<u16>(row + 64));
  }
  let dot: i64 = 0;
  let dot2: i64 = 0;
  let match = 0;
  if (matchLength > 0) {
    const expected = (predictedByte >> (7 - bitPosition)) & 1;
    matchCounter = min(matchLength, 31) * 2 + expected;
    match = stretch(u16At(matchCounters, matchCounter) >> 4);
  } else {
    matchCounter = -1;
  }
  if (SIMD_MIXER) {
    // The same i64 sums as the scalar loop below (integer addition in any order), two lanes at a time.
    if (INPUTS_AT_SLOTS) {
      // Already in place (computeSlots).
    } else if (COUNTERS === 6) {
      stretchCounter(0);
      stretchCounter(1);
      stretchCounter(2);
      stretchCounter(3);
      stretchCounter(4);
      stretchCounter(5);
    } else {
      for (let i = 0; i < COUNTERS; i++) stretchCounter(i);
    }
    setInput(COUNTERS, match);
    if (MATCH2 !== 0) {
      let match2 = 0;
      if (s27(1) > 0) {
        const expected = (s27(2) >> (7 - bitPosition)) & 1;
        setS27(3, 64 + min(s27(1), 31) * 2 + expected);
        match2 = stretch(u16At(matchCounters, s27(3)) >> 4);
      } else {
        setS27(3, -1);
      }
      setInput((COUNTERS + (NO_BIAS() ? 1 : 2)), match2);
    }
    dot = dotProduct(weights, mixerBase);
    dot2 = dotProduct(weights2, mixer2Base);
  } else {
    for (let i = 0; i < COUNTERS; i++) {
      const x = stretch(<i32>(<u32>i32At(counters, i32At(slots, i)) >> 20));
      setI32(stretched, i, x);
      dot += <i64>i32At(weights, mixerBase + i) * x;
      dot2 += <i64>i32At(weights2, mixer2Base + i) * x;
    }
    setI32(stretched, COUNTERS, match);
    dot += <i64>i32At(weights, mixerBase + COUNTERS) * match + <i64>i32At(weights, mixerBase + COUNTERS + 1) * BIAS;
    dot2 += <i64>i32At(weights2, mixer2Base + COUNTERS) * match + <i64>i32At(weights2, mixer2Base + COUNTERS + 1) * BIAS;
  }
  const d = <i32>clamp(dot >> DOT_SHIFT);
  const d2 = <i32>clamp(dot2 >> DOT_SHIFT);
  p1 = squash(d);
  p2 = squash(d2);
  if (MIXER3 && MIXER4() !== 0) {
    const d3 = <i32>clamp(dotProduct(weights3, mixer3Base) >> DOT_SHIFT);
    p3 = squash(d3);
    const d4 = <i32>clamp(dotProduct(weights4(), s28(5)) >> DOT_SHIFT);
    setS28(6, squash(d4));
    pMix = squash((d + d2 + d3 + d4) >> 2);
  } else if (MIXER3) {
    const d3 = <i32>clamp(dotProduct(weights3, mixer3Base) >> DOT_SHIFT);
    p3 = squash(d3);
    if (FINAL_LAYER() !== 0) {
      const m = FINAL_LAYER();
      let set = 0;
      if (m === 2) set = bitPosition;
      else if (m === 3) set = c0;
      else if (m === 4) set = (matchLength > 0 ? 1 + ((predictedByte >> (7 - bitPosition)) & 1) : 0) * 8 + bitPosition;
      else if (m === 5) set = (matchLength > 0 ? 256 : 0) + c0;
      const fw = finalWeights() + <usize>(set << 4);
      setS28(11, d);
      setS28(12, d2);
      setS28(13, d3);
      setS28(14, set << 4);
      pMix = squash(<i32>clamp((<i64>load<i32>(fw) * d + <i64>load<i32>(fw + 4) * d2 + <i64>load<i32>(fw + 8) * d3) >> 16));
    } else {
      // The mean of the three, rounded down (21846 / 65536 ≈ 1 / 3; |d + d2 + d3| ≤ 6141).
      pMix = squash(((d + d2 + d3) * 21846) >> 16);
    }
  } else {
    pMix = squash((d + d2) >> 1);
  }
  const s = stretch(pMix) + 2048;
  if (LEN_APM() || POS_APM()) apmIndex = (s28(3) + (UTF8_APM ? min(charPosition, 3) * 256 + c0 : c0)) * 33 + (s >> 7);
  else apmIndex = (UTF8_APM ? min(charPosition, 3) * 256 + c0 : c0) * 33 + (s >> 7);
  apmWeight = s & 127;
  const pApm = (u16At(apm, apmIndex) * (128 - apmWeight) + u16At(apm, apmIndex + 1) * apmWeight) >> 7;
  let p = 0;
  let pM = 0;
  if (MATCH_APM()) {
    // The match state: the first match's length (up to 15) and expected bit, the second match's expected bit (or none).
    const m1 = matchCounter >= 0 ? min(matchLength, 15) * 2 + (matchCounter & 1) : 0;
    const m2 = MATCH2 !== 0 && s27(3) >= 0 ? 1 + (s27(3) & 1) : 0;
    const at = (m2 * 32 + m1) * 33 + (s >> 7);
    setS28(4, at);
    pM = (u16At(matchApm(), at) * (128 - apmWeight) + u16At(matchApm(), at + 1) * apmWeight) >> 7;
  }
  if (MATCH_APM() && !APM_ORDER1 && !APM_ORDER2) {
    if (FINAL_WEIGHTS() === 1) p = (pMix * 16 + pApm * 2 + pM) >> 2;
    else if (FINAL_WEIGHTS() === 2) p = ((pMix * 16 + pApm + pM) * 21846) >> 16;
    else p = (pMix * 32 + pApm + pM) >> 2;
  } else if (!APM_ORDER1 && !APM_ORDER2 && FINAL_WEIGHTS() === 1) {
    p = (pMix * 16 + pApm * 3) >> 2;
  } else if (!APM_ORDER1 && !APM_ORDER2 && FINAL_WEIGHTS() === 2) {
    p = (pMix * 48 + pApm) >> 2;
  } else if (APM_ORDER1 && APM_ORDER2) {
    apm1Index = (((c4 & 0xff) << 8) | c0) * 33 + (s >> 7);
    const pApm1 = (u16At(apm1, apm1Index) * (128 - apmWeight) + u16At(apm1, apm1Index + 1) * apmWeight) >> 7;
    apm2Index = <i32>(<u32>(((c4 & 0xffff) | (c0 << 16)) * <i32>0x9e3779b1) >> 16) * 33 + (s >> 7);
    const pApm2 = (u16At(apm2, apm2Index) * (128 - apmWeight) + u16At(apm2, apm2Index + 1) * apmWeight) >> 7;
    if (FINAL_MIX === 1) p = (pMix * 16 + pApm + pApm1 + pApm2) >> 2;
    else if (FINAL_MIX === 2) p = (pMix * 48 + pApm + pApm1 * 2 + pApm2 * 2) >> 3;
    else p = (pMix * 32 + pApm + pApm1) >> 2;
  } else if (APM_ORDER1) {
    apm1Index = (((c4 & 0xff) << 8) | c0) * 33 + (s >> 7);
    const pApm1 = (u16At(apm1, apm1Index) * (128 - apmWeight) + u16At(apm1, apm1Index + 1) * apmWeight) >> 7;
    p = (pMix * 32 + pApm + pApm1) >> 2;
  } else {
    p = (pMix * 16 + pApm) >> 1;
  }
  // With the order-1 / order-2 APMs, the match APM takes a quarter of their combination.
  if (MATCH_APM() && (APM_ORDER1 || APM_ORDER2)) p = (p * 3 + pM) >> 2;
  if (PREFETCH) touchAhead();
  return p < 1 ? 1 : p > 65535 ? 65535 : p;
}

/** Home bucket of a hashed context for a nibble (as in computeNibbleBases). */
@inline function homeBucket(hash: i32, nibbleContext: i32): i32 {
  const mixed = (hash ^ (nibbleContext + 1) * 0x2545f491) * <i32>0x9e3779b1;
  return HASHED_BASE + (<i32>(<u32>(mixed ^ <i32>(<u32>mixed >> 15)) >> hashShift) & ~15);
}

/**
 * Reads (into `sink`) what the next bit will need, for either value of this one, so that the
 * cache misses start now: the order-1 APM's two candidate rows and both mixers' weight sets
 * (mixer 1's guessed with this bit's seen orders); before a nibble's last bit, the home buckets
 * of the next nibble's contexts (orders 2-4 only at a byte's end). Changes no state but `sink`.
 */
function touchAhead(): void {
  let t = 0;
  const bits = bitPosition;
  if (bits < 7) {
    const next = c0 << 1;
    if (APM_ORDER1) {
      const row = apm1 + (<usize>((((c4 & 0xff) << 8) | next) * 33) << 1);
      t ^= <i32>load<u16>(row) ^ <i32>load<u16>(row + 64) ^ <i32>load<u16>(row + 128);
    }
    t ^= load<i32>(weights + (<usize>(mixerBase + c0 * STRIDE) << WEIGHT_SHIFT));
    if (UTF8_MIXER === 1) t ^= load<i32>(weights2 + (<usize>(mixer2Base + 4 * STRIDE) << WEIGHT_SHIFT));
    else t ^= load<i32>(weights2 + (<usize>(mixer2Base + STRIDE) << WEIGHT_SHIFT));
    if (bits === 3) {
      for (let i = 0; i < HASHED; i++) {
        const hash = i32At(contextHash, i);
        t ^= i32At(counters, homeBucket(hash, next)) ^ i32At(counters, homeBucket(hash, next | 1));
      }
    }
  } else {
    const c = (c4 << 8) | ((c0 << 1) & 0xff);
    t ^= i32At(counters, homeBucket((c & 0xffff) * 0x2c1b3c6d + 0x01000193, 0));
    t ^= i32At(counters, homeBucket(((c | 1) & 0xffff) * 0x2c1b3c6d + 0x01000193, 0));
    t ^= i32At(counters, homeBucket((c & 0xffffff) * 0x297a2d39 + 0x02000193, 0));
    t ^= i32At(counters, homeBucket(((c | 1) & 0xffffff) * 0x297a2d39 + 0x02000193, 0));
    if (!UTF8_O4) {
      t ^= i32At(counters, homeBucket((c * 0x1b873593) ^ 0x03000193, 0));
      t ^= i32At(counters, homeBucket(((c | 1) * 0x1b873593) ^ 0x03000193, 0));
    }
  }
  store<i32>(sink, t);
}

@inline function clamp(d: i64): i64 {
  return d > 2047 ? 2047 : d < -2047 ? -2047 : d;
}

/** Notes the two weight sets the last update changed, for `endRecord`. */
@inline function touchMixerSets(): void {
  touchSet(mixerBase / STRIDE);
  touchSet(MIXER_SETS + mixer2Base / STRIDE);
}

/** Moves counter `i` of this bit towards `target`, logging its old value at undo entry `u` when the record is logged; returns the next entry. */
@inline function updateCounter(i: i32, target: i32, u: i32, limit: i32): i32 {
  const s = i32At(slots, i);
  const value = i32At(counters, s);
  if (logging && s < scratchBase && !(BUCKET_LOG && i >= 2) && i !== 0) {
    store<i32>(undo + (<usize>u << 3), s);
    store<i32>(undo + (<usize>u << 3) + 4, value);
    u++;
  }
  const p = <i32>(<u32>value >> 16);
  const n = value & COUNT_MASK;
  const rate = i32At(rateTable, n > limit ? limit : n);
  if (BIT_HISTORY !== 0) {
    // The context's state moves on with the bit; its StateMap entry learns the bit (p += (bit - p) · 2 / (2n + 3), n limited).
    const state = (value >> 8) & 0xff;
    const bit = target >> 15;
    if (!(SM_FROZEN && frozen) && !(BIT_HISTORY === 1 && i < BH_FIRST)) {
      const at = i * 256 + state;
      const entry = i32At(stateMaps, at);
      const q = <i32>(<u32>entry >> 16);
      const m = entry & 0xffff;
      const smLimit = frozen ? SM_LIMIT_FROZEN : SM_LIMIT;
      setI32(stateMaps, at, ((q + (((target - q) * i32At(smRateTable, m > smLimit ? smLimit : m)) >> 15)) << 16) | (m < SM_LIMIT ? m + 1 : m));
    }
    const nextState = bhNext(state * 2 + bit);
    setI32(counters, s, ((p + (((target - p) * rate) >> 10)) << 16) | (nextState << 8) | (n < COUNT_LIMIT ? n + 1 : n));
    return u;
  }
  setI32(counters, s, ((p + (((target - p) * rate) >> 10)) << 16) | (n < COUNT_LIMIT ? n + 1 : n));
  return u;
}

/** Learns the bit that followed the last `predict`. */
export function update(bit: i32): void {
  updateBit(bit);
}

/** `update`, inlined into `codeByte` and `step`. */
@inline function updateBit(bit: i32): void {
  const target = bit ? 65535 : 0;
  let u = undoLength;
  const multiByte = UTF8_CONTEXTS && (charPosition > 0 || char1 >= 0x80);
  const limit = frozen ? (FROZEN_RATE_LIMIT_MB > 0 && multiByte ? FROZEN_RATE_LIMIT_MB : ADAPT_RATE() !== 0 ? s28(9) : FROZEN_RATE_LIMIT) : COUNT_LIMIT;
  if (COUNTERS === 6) {
    // Unrolled (the same updates in the same order: two contexts sharing a slot see each other's update).
    // SPLIT_LIMIT() (stop 28): one group of counters keeps version 7's in-record limit (15) where FROZEN_RATE_LIMIT is set lower.
    u = updateCounter(0, target, u, splitLimit(1, limit, multiByte));
    u = updateCounter(1, target, u, splitLimit(1, limit, multiByte));
    u = updateCounter(2, target, u, splitLimit(2, limit, multiByte));
    u = updateCounter(3, target, u, splitLimit(2, limit, multiByte));
    u = updateCounter(4, target, u, splitLimit(2, limit, multiByte));
    u = updateCounter(5, target, u, splitLimit(2, limit, multiByte));
  } else {
    for (let i = 0; i < COUNTERS; i++) u = updateCounter(i, target, u, limit);
  }
  undoLength = u;
  if (matchCounter >= 0) {
    const m = u16At(matchCounters, matchCounter);
    setU16(matchCounters, matchCounter, m + ((target - m) >> 6));
  }
  if (MATCH2 !== 0 && s27(3) >= 0) {
    const m = u16At(matchCounters, s27(3));
    setU16(matchCounters, s27(3), m + ((target - m) >> 6));
  }
  const mixerRate = frozen ? (MIXER_RATE_FROZEN_MB > 0 && multiByte ? MIXER_RATE_FROZEN_MB : ADAPT_MIXER() ? s28(10) : MIXER_RATE_FROZEN) : MIXER_RATE;
  if (ADAPT_RATE() === 2) {
    const e = (bit << 12) - pMix;
    setS28(8, s28(8) + ((select<i32>(e, -e, e >= 0) - s28(8)) >> 7));
  }
  const e1 = (bit << 12) - p1;
  const e2 = (bit << 12) - p2;
  const err = e1 * mixerRate;
  const err2 = e2 * mixerRate;
  if (MIXER_SKIP > 0 && MIXER3 && MIXER4() === 0 && BRANCHLESS_SKIP()) {
    const e3 = (bit << 12) - p3;
    trainMixer(weights, mixerBase, select<i32>(err, 0, e1 > MIXER_SKIP || e1 < -MIXER_SKIP));
    trainMixer(weights2, mixer2Base, select<i32>(err2, 0, e2 > MIXER_SKIP || e2 < -MIXER_SKIP));
    trainMixer(weights3, mixer3Base, select<i32>(e3 * mixerRate, 0, e3 > MIXER_SKIP || e3 < -MIXER_SKIP));
    if (logging) {
      touchSet(<i32>(<u32>mixerBase / <u32>STRIDE));
      touchSet(MIXER_SETS + <i32>(<u32>mixer2Base / <u32>STRIDE));
      touchSet(MIXER_SETS + MIXER2_SETS + <i32>(<u32>mixer3Base / <u32>STRIDE));
    }
  } else if (MIXER_SKIP > 0) {
    // Each mixer learns only from errors larger than MIXER_SKIP.
    if (e1 > MIXER_SKIP || e1 < -MIXER_SKIP) {
      trainMixer(weights, mixerBase, err);
      if (logging) touchSet(<i32>(<u32>mixerBase / <u32>STRIDE));
    }
    if (e2 > MIXER_SKIP || e2 < -MIXER_SKIP) {
      trainMixer(weights2, mixer2Base, err2);
      if (logging) touchSet(MIXER_SETS + <i32>(<u32>mixer2Base / <u32>STRIDE));
    }
    if (MIXER3) {
      const e3 = (bit << 12) - p3;
      if (e3 > MIXER_SKIP || e3 < -MIXER_SKIP) {
        trainMixer(weights3, mixer3Base, e3 * mixerRate);
        if (logging) touchSet(MIXER_SETS + MIXER2_SETS + <i32>(<u32>mixer3Base / <u32>STRIDE));
      }
    }
    if (MIXER4() !== 0) {
      const e4 = (bit << 12) - s28(6);
      if (e4 > MIXER_SKIP || e4 < -MIXER_SKIP) {
        trainMixer(weights4(), s28(5), e4 * mixerRate);
        if (logging) touchSet(MIXER_SETS + MIXER2_SETS + MIXER3_SETS + <i32>(<u32>s28(5) / <u32>STRIDE));
      }
    }
  } else if (SIMD_MIXER) {
    trainMixer(weights, mixerBase, err);
    trainMixer(weights2, mixer2Base, err2);
    if (MIXER3) trainMixer(weights3, mixer3Base, ((bit << 12) - p3) * mixerRate);
  } else {
    for (let i = 0; i < INPUTS; i++) {
      const x = i32At(stretched, i);
      setI32(weights, mixerBase + i, i32At(weights, mixerBase + i) + ((x * err) >> 16));
      setI32(weights2, mixer2Base + i, i32At(weights2, mixer2Base + i) + ((x * err2) >> 16));
    }
  }
  if (logging && MIXER_SKIP === 0) {
    touchMixerSets();
    if (MIXER3) touchSet(MIXER_SETS + MIXER2_SETS + mixer3Base / STRIDE);
  }
  if (FINAL_LAYER() !== 0 && (!frozen || FL_IN_RECORD())) {
    const err = ((bit << 12) - pMix) * FL_RATE();
    const fw = finalWeights() + <usize>s28(14);
    store<i32>(fw, load<i32>(fw) + ((s28(11) * err) >> 14));
    store<i32>(fw + 4, load<i32>(fw + 4) + ((s28(12) * err) >> 14));
    store<i32>(fw + 8, load<i32>(fw + 8) + ((s28(13) * err) >> 14));
  }
  const apmRate = frozen ? APM_RATE_IN_RECORD() : APM_RATE;
  const a0 = u16At(apm, apmIndex);
  const a1 = u16At(apm, apmIndex + 1);
  setU16(apm, apmIndex, a0 + ((((target - a0) >> apmRate) * (128 - apmWeight)) >> 7));
  setU16(apm, apmIndex + 1, a1 + ((((target - a1) >> apmRate) * apmWeight) >> 7));
  if (MATCH_APM()) {
    const at = s28(4);
    const b0 = u16At(matchApm(), at);
    const b1 = u16At(matchApm(), at + 1);
    setU16(matchApm(), at, b0 + ((((target - b0) >> apmRate) * (128 - apmWeight)) >> 7));
    setU16(matchApm(), at + 1, b1 + ((((target - b1) >> apmRate) * apmWeight) >> 7));
  }
  if (APM_ORDER1) {
    const b0 = u16At(apm1, apm1Index);
    const b1 = u16At(apm1, apm1Index + 1);
    if (logging) {
      // Both ends in one entry (apm1Index + 1 is the next u16).
      store<i32>(undo + (<usize>undoLength << 3), APM1_TAG + apm1Index);
      store<i32>(undo + (<usize>undoLength << 3) + 4, b0 | (b1 << 16));
      undoLength++;
    }
    setU16(apm1, apm1Index, b0 + ((((target - b0) >> apmRate) * (128 - apmWeight)) >> 7));
    setU16(apm1, apm1Index + 1, b1 + ((((target - b1) >> apmRate) * apmWeight) >> 7));
  }
  if (APM_ORDER2) {
    const b0 = u16At(apm2, apm2Index);
    const b1 = u16At(apm2, apm2Index + 1);
    if (logging) {
      store<i32>(undo + (<usize>undoLength << 3), APM2_TAG + apm2Index);
      store<i32>(undo + (<usize>undoLength << 3) + 4, b0);
      store<i32>(undo + (<usize>undoLength << 3) + 8, APM2_TAG + apm2Index + 1);
      store<i32>(undo + (<usize>undoLength << 3) + 12, b1);
      undoLength += 2;
    }
    setU16(apm2, apm2Index, b0 + ((((target - b0) >> apmRate) * (128 - apmWeight)) >> 7));
    setU16(apm2, apm2Index + 1, b1 + ((((target - b1) >> apmRate) * apmWeight) >> 7));
  }
  c0 = (c0 << 1) | bit;
  bitPosition++;
  if (bitPosition === 8) {
    const byte = c0 & 0xff;
    c0 = 1;
    bitPosition = 0;
    appendHistory(byte);
    afterByte();
    return;
  }
  if (matchLength > 0 && ((predictedByte | 0x100) >> (8 - bitPosition)) !== c0) matchLength = 0;
  if (MATCH2 !== 0 && s27(1) > 0 && ((s27(2) | 0x100) >> (8 - bitPosition)) !== c0) setS27(1, 0);
  if (bitPosition === 4) computeNibbleBases();
  computeSlots();
}

/**
 * Codes one known byte in one call: for each bit, most significant first, predicts, stores the
 * probability at the returned address (8 × i32) and learns the bit. Same results as
 * `predict`/`update` per bit; fewer crossings between JavaScript and WebAssembly.
 */
export function codeByte(byte: i32): usize {
  for (let b = 7; b >= 0; b--) {
    store<i32>(byteProbabilities + (<usize>(7 - b) << 2), predictBit());
    updateBit((byte >> b) & 1);
  }
  return byteProbabilities;
}

/** Learns `bit` and predicts the next one: a decoder's step in one call. */
export function step(bit: i32): i32 {
  updateBit(bit);
  return predictBit();
}

// The range coder of src/codec/range-coder.ts for bits, in i64 (every value below 2^50): the same bounds, carries and
// bytes, so a record coded here is byte for byte the record coded by RangeEncoder / RangeDecoder with predict/update.
const RC_TOP: i64 = 1 << 40;
const RC_FULL: i64 = 1 << 48;
/** Zero bytes the decoder may read past the payload's end before the record is called corrupt (MAX_OVERRUN in src/codec/cm/context-model.ts). */
const RC_MAX_OVERRUN: i32 = 64;
// The encoder's output state between shifts (only while `encodeRecordIO` runs).
let rcCache: i32 = -1;
let rcPending: i32 = 0;
let rcOut: usize = 0;
let rcOutEnd: usize = 0;

/** Memory up to `end` (bytes), growing it when needed. */
function ensureMemory(end: usize): void {
  const needed = <i32>((end + 0xffff) >> 16);
  const have = memory.size();
  if (needed > have) memory.grow(needed - have);
}

/**
 * Lays out the record I/O area for a record just begun (after `beginRecord`): `inBytes` of input at the returned
 * address, then room for `outBytes` of output (`recordOutput()`; the encoder grows it when the payload needs more).
 */
export function recordIO(inBytes: i32, outBytes: i32): usize {
  ioIn = (top + 63) & ~(<usize>63);
  ioOut = (ioIn + <usize>inBytes + 63) & ~(<usize>63);
  ensureMemory(ioOut + <usize>outBytes);
  return ioIn;
}

/** Where `encodeRecordIO` and `decodeRecordIO` wrote their output. */
export function recordOutput(): usize {
  return ioOut;
}

function rcPush(byte: i32): void {
  if (rcOut >= rcOutEnd) {
    // The output is the last thing in memory: grow it by as much again.
    const pages = max(1, <i32>((rcOutEnd - ioOut) >> 16));
    memory.grow(pages);
    rcOutEnd = <usize>memory.size() << 16;
  }
  store<u8>(rcOut, <u8>byte);
  rcOut++;
}

/** RangeEncoder.shiftLow's output half: the byte leaving `low` (with a carry into the pending ones), or one more pending 0xFF. The caller shifts `low`. */
function rcShift(low: i64): void {
  if (low < RC_FULL - RC_TOP || low >= RC_FULL) {
    const carry = low >= RC_FULL ? 1 : 0;
    if (rcCache >= 0) rcPush((rcCache + carry) & 0xff);
    for (; rcPending > 0; rcPending--) rcPush((0xff + carry) & 0xff);
    rcCache = <i32>(low >> 40) & 0xff;
  } else {
    rcPending++;
  }
}

/**
 * Codes the record just begun, `length` bytes at the I/O area's input, into its output; returns the payload's
 * length (the bytes RangeEncoder.finish would return: trailing zeros trimmed). Each bit: predict, code, learn.
 */
export function encodeRecordIO(length: i32): i32 {
  let low: i64 = 0;
  let range: i64 = RC_FULL - 1;
  rcCache = -1;
  rcPending = 0;
  rcOut = ioOut;
  rcOutEnd = <usize>memory.size() << 16;
  for (let i = 0; i < length; i++) {
    const byte = <i32>load<u8>(ioIn + <usize>i);
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      const bound = (range >> 16) * <i64>predictBit();
      if (BRANCHLESS_CODER()) {
        low += select<i64>(0, bound, bit !== 0);
        range = select<i64>(bound, range - bound, bit !== 0);
      } else if (bit) {
        range = bound;
      } else {
        low += bound;
        range -= bound;
      }
      while (range < RC_TOP) {
        range <<= 8;
        rcShift(low);
        low = (low & (RC_TOP - 1)) << 8;
      }
      updateBit(bit);
    }
  }
  // finish: the value in [low, low + range) with the most trailing zero bits, then the bytes still in `low`.
  for (let shift: i64 = 48; shift >= 0; shift -= 8) {
    const value = ((low + (<i64>1 << shift) - 1) >> shift) << shift;
    if (value < low + range) {
      low = value;
      break;
    }
  }
  for (let i = 0; i < 7; i++) {
    rcShift(low);
    low = (low & (RC_TOP - 1)) << 8;
  }
  let end = rcOut;
  while (end > ioOut && load<u8>(end - 1) === 0) end--;
  return <i32>(end - ioOut);
}

/**
 * Decodes the record just begun, `length` bytes, from the `payloadLength`-byte payload at the I/O area's input into
 * its output (reading zeros past the payload's end). Returns 0, or 1 when the decoder has read more than
 * RC_MAX_OVERRUN bytes past the end after a byte (RangeDecoder.overrun): the payload is corrupt; the caller
 * still ends the record.
 */
export function decodeRecordIO(length: i32, payloadLength: i32): i32 {
  let code: i64 = 0;
  let range: i64 = RC_FULL - 1;
  let position = 0;
  for (let i = 0; i < 6; i++) {
    code = (code << 8) | <i64>(position < payloadLength ? load<u8>(ioIn + <usize>position) : 0);
    position++;
  }
  for (let i = 0; i < length; i++) {
    let byte = 0;
    for (let b = 0; b < 8; b++) {
      const bound = (range >> 16) * <i64>predictBit();
      let bit = 0;
      if (BRANCHLESS_CODER()) {
        const one = code < bound;
        bit = <i32>one;
        code = select<i64>(code, code - bound, one);
        range = select<i64>(bound, range - bound, one);
      } else if (code < bound) {
        range = bound;
        bit = 1;
      } else {
        code -= bound;
        range -= bound;
      }
      while (range < RC_TOP) {
        range <<= 8;
        code = ((code & (RC_TOP - 1)) << 8) | <i64>(position < payloadLength ? load<u8>(ioIn + <usize>position) : 0);
        position++;
      }
      updateBit(bit);
      byte = (byte << 1) | bit;
    }
    store<u8>(ioOut + <usize>i, <u8>byte);
    if (position - payloadLength > RC_MAX_OVERRUN) return 1;
  }
  return 0;
}

function ensureHistory(needed: i32): void {
  if (needed <= historyCapacity) return;
  let capacity = historyCapacity;
  while (capacity < needed) capacity <<= 1;
  // The history is the last region before the undo log, which is empty between records.
  top = history + <usize>historyCapacity;
  reserve(<usize>(capacity - historyCapacity));
  historyCapacity = capacity;
  undoCapacity = 0;
}

function appendHistory(byte: i32): void {
  ensureHistory(historyLength + 1);
  store<u8>(history + <usize>historyLength, <u8>byte);
  historyLength++;
  if (LINES() && byte === 10) {
    setS27(5, s27(4));
    setS27(4, historyLength);
  }
  if (INDIRECT()) {
    // t1[previous byte] and t2[previous two bytes] learn that `byte` followed them.
    const aux = (1 << matchBits) * (MATCH2 !== 0 ? 2 : 1);
    auxSet(aux + (c4 & 0xff), (auxAt(aux + (c4 & 0xff)) << 8) | byte);
    auxSet(aux + 256 + (c4 & 0xffff), (auxAt(aux + 256 + (c4 & 0xffff)) << 8) | byte);
  }
  c8 = (c8 << 8) | (<i32>(<u32>c4 >> 24));
  c4 = (c4 << 8) | byte;
  const isWordByte = (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x30 && byte <= 0x39) || byte >= 0x80;
  if (!isWordByte && word !== 0) previousWord = asciiWord ? word : 0;
  asciiWord = isWordByte ? (word === 0 || asciiWord) && byte < 0x80 : previousWord !== 0 || byte < 0x80;
  word = isWordByte ? (word ^ (byte | 0x20)) * 0x2f0b4c2d + 0x3c6ef372 : 0;
  if (UTF8_CONTEXTS) {
    if (byte >= 0xc0) {
      // A lead byte starts a character (and ends one left unfinished).
      charPending = byte;
      charPosition = 1;
      charNeed = byte >= 0xf0 ? 3 : byte >= 0xe0 ? 2 : 1;
    } else if (byte >= 0x80 && charNeed > 0) {
      charPending = (charPending << 8) | byte;
      charPosition++;
      charNeed--;
      if (charNeed === 0) {
        char3 = char2;
        char2 = char1;
        char1 = charPending;
        charPending = 0;
        charPosition = 0;
      }
    } else {
      char3 = char2;
      char2 = char1;
      char1 = byte;
      charPending = 0;
      charPosition = 0;
      charNeed = 0;
    }
  }
  if (MATCH2 !== 0) {
    // Before updateMatch: MATCH2 2 looks up the second candidate there, once the first match is known.
    if (MATCH2 === 2) {
      if (s27(1) > 0 && s27(0) < historyLength - 1 && historyAt(s27(0)) === byte) {
        setS27(1, min(s27(1) + 1, 32));
        setS27(0, s27(0) + 1);
      } else {
        setS27(1, 0);
      }
    } else {
      updateMatch2(byte);
    }
  }
  updateMatch(byte);
}

@inline function historyAt(index: i32): i32 {
  return <i32>load<u8>(history + <usize>index);
}

function updateMatch(byte: i32): void {
  if (matchLength > 0 && matchPtr < historyLength - 1 && historyAt(matchPtr) === byte) {
    matchLength++;
    matchPtr++;
  } else {
    matchLength = 0;
  }
  if (historyLength < MATCH_MIN) return;
  const h = <i32>(<u32>(c4 * <i32>0x9e3779b1 ^ (c8 & 0xffff) * <i32>0x85ebca6b) >> matchShift);
  if (matchLength === 0) {
    const candidate = i32At(matchTable, matchSlot(h));
    if (candidate > 0) {
      let length = 0;
      // Four bytes at a time while both ends have four (the same length as the byte loop below alone).
      while (length < 32 && candidate - 4 - length >= 0) {
        const diff = load<u32>(history + <usize>(candidate - 4 - length)) ^ load<u32>(history + <usize>(historyLength - 4 - length));
        if (diff !== 0) {
          length += <i32>(clz<u32>(diff) >> 3);
          break;
        }
        length += 4;
      }
      if (length < 32 && candidate - 4 - length < 0) {
        while (length < 32 && candidate - 1 - length >= 0 && historyAt(candidate - 1 - length) === historyAt(historyLength - 1 - length)) length++;
      }
      if (length > 32) length = 32;
      if (length >= MATCH_MIN) {
        matchLength = length;
        matchPtr = candidate;
      }
    }
  }
  if (MATCH2 === 2) {
    // The second table keeps the candidate the first one held before this position replaced it.
    const second = MATCH_PAIRS() ? (h << 1) + 1 : (1 << matchBits) + h;
    if (s27(1) === 0) findMatch2(auxAt(second));
    auxSet(second, i32At(matchTable, matchSlot(h)));
  }
  if (logging) {
    store<i32>(undo + (<usize>undoLength << 3), -1 - matchSlot(h));
    store<i32>(undo + (<usize>undoLength << 3) + 4, i32At(matchTable, matchSlot(h)));
    undoLength++;
  }
  setI32(matchTable, matchSlot(h), historyLength);
}

/** Stop 27's state (MATCH2, LINES()), in 8 i32s after the slots (not globals: version 6's WebAssembly keeps its globals as they are): 0 the second match's pointer, 1 its length, 2 its predicted byte, 3 its adaptive-table entry (-1 none), 4 where the current line starts in the history, 5 where the line above starts (-1 none). */
@inline function s27(index: i32): i32 {
  return load<i32>(slots + 32 + (<usize>index << 2));
}
@inline function setS27(index: i32, value: i32): void {
  store<i32>(slots + 32 + (<usize>index << 2), value);
}
/** Stop 28's state (STOP28_OPTIONS), 16 i32s after stop 27's: 0 where the record starts in the history, 1 its length bucket (0-7), 2 mixer 3's hash extra for this byte, 3 the APM's context offset for this byte (× 1024), 4 the match APM's entry. */
@inline function s28(index: i32): i32 {
  return load<i32>(slots + 64 + (<usize>index << 2));
}
@inline function setS28(index: i32, value: i32): void {
  store<i32>(slots + 64 + (<usize>index << 2), value);
}
/** MATCH_APM(): the match APM (u16 × MATCH_APM_CONTEXTS() × 33) and its pristine copy, after the s28 block. */
@inline function matchApm(): usize {
  return slots + 128;
}
@inline function pristineMatchApm(): usize {
  return slots + 128 + <usize>MATCH_APM_BYTES();
}
/** MIXER4(): its weights and their pristine copy, after the match APM's. */
@inline function weights4(): usize {
  return slots + 128 + <usize>(2 * MATCH_APM_BYTES());
}
@inline function pristineWeights4(): usize {
  return slots + 128 + <usize>(2 * MATCH_APM_BYTES() + MIXER4_SETS() * SET_BYTES);
}

/** An entry of the region after the first match table (MATCH2's table, INDIRECT()'s t1 and t2). */
@inline function auxAt(index: i32): i32 {
  return i32At(matchTable, index);
}
/** Sets it, logging the old value when the record is logged (the undo log's match entries). */
@inline function auxSet(index: i32, value: i32): void {
  if (logging) {
    store<i32>(undo + (<usize>undoLength << 3), -1 - index);
    store<i32>(undo + (<usize>undoLength << 3) + 4, i32At(matchTable, index));
    undoLength++;
  }
  setI32(matchTable, index, value);
}

/** MATCH2: the length of the match that ends before history position `candidate` (0 none, at most 32), taken when at least MATCH2_MIN(). */
function findMatch2(candidate: i32): void {
  if (candidate <= 0 || (MATCH2 === 2 && matchLength > 0 && candidate === matchPtr)) return;
  let length = 0;
  while (length < 32 && candidate - 1 - length >= 0 && historyAt(candidate - 1 - length) === historyAt(historyLength - 1 - length)) length++;
  if (length >= MATCH2_MIN()) {
    setS27(1, length);
    setS27(0, candidate);
  }
}

/** MATCH2: follows the second match by one byte, then (MATCH2 1) looks up its own MATCH2_MIN()-byte hash. */
function updateMatch2(byte: i32): void {
  if (s27(1) > 0 && s27(0) < historyLength - 1 && historyAt(s27(0)) === byte) {
    setS27(1, min(s27(1) + 1, 32));
    setS27(0, s27(0) + 1);
  } else {
    setS27(1, 0);
  }
  if (MATCH2 !== 1 || historyLength < MATCH2_MIN()) return;
  const key = MATCH2_MIN() >= 4 ? c4 : c4 & ((1 << (MATCH2_MIN() * 8)) - 1);
  const h = (1 << matchBits) + <i32>(<u32>(key * <i32>0x2c1b3c6d + (MATCH2_MIN() > 4 ? (c8 & ((1 << ((MATCH2_MIN() - 4) * 8)) - 1)) * <i32>0x297a2d39 : 0)) >> matchShift);
  if (s27(1) === 0) findMatch2(auxAt(h));
  auxSet(h, historyLength);
}

function afterByte(): void {
  predictedByte = matchLength > 0 ? historyAt(matchPtr) : 0;
  setI32(contextHash, 0, (c4 & 0xffff) * 0x2c1b3c6d + 0x01000193);
  setI32(contextHash, 1, (c4 & 0xffffff) * 0x297a2d39 + 0x02000193);
  const multiByte = charPosition > 0 || char1 >= 0x80;
  if (UTF8_O4 && multiByte) setI32(contextHash, 2, ((char2 * 0x2f0b4c2d + char1) * 0x6f4f2e15 + charPending) * 0x1b873593 ^ 0x07000193);
  else setI32(contextHash, 2, (c4 * 0x1b873593) ^ 0x03000193);
  if (UTF8_WORD === 1 && multiByte) setI32(contextHash, 3, (char1 * 0x6f4f2e15 + charPending) * 0x68e31da4 + 0x08000193);
  else if (UTF8_WORD === 3 && multiByte) setI32(contextHash, 3, ((char2 * 0x2f0b4c2d + char1) * 0x6f4f2e15 + charPending) * 0x68e31da4 + 0x0a000193);
  else if (UTF8_WORD === 4 && multiByte) setI32(contextHash, 3, (char2 * 0x6f4f2e15 + charPending) * 0x68e31da4 + 0x0b000193);
  else if (UTF8_WORD === 2 && multiByte) setI32(contextHash, 3, (((char3 * 0x2f0b4c2d + char2) * 0x2f0b4c2d + char1) * 0x6f4f2e15 + charPending) * 0x68e31da4 + 0x09000193);
  else setI32(contextHash, 3, (word === 0 ? c4 & 0xff : word) * 0x68e31da4 + 0x05000193);
  // Words of ASCII letters and digits only: a run of Chinese is one "word" that seldom repeats.
  if (EXTRA_CONTEXT !== 0 && EXTRA_CONTEXT < 8) setI32(contextHash, 4, extraContext(multiByte) * 0x7feb352d + 0x0c000193);
  if (EXTRA_CONTEXT === 8) setI32(contextHash, 2, extraContext(multiByte) * 0x7feb352d + 0x0c000193);
  if (EXTRA_CONTEXT === 9 && !multiByte) setI32(contextHash, 3, extraContext(multiByte) * 0x7feb352d + 0x0c000193);
  if (EXTRA_CONTEXT === 10) setI32(contextHash, 0, extraContext(multiByte) * 0x7feb352d + 0x0c000193);
  if (MATCH2 !== 0) setS27(2, s27(1) > 0 ? historyAt(s27(0)) : 0);
  if (ABOVE_O0()) {
    const row = (SPEED9 & 8) !== 0 ? (SPEED9 & 4) !== 0 ? (column() === 0 ? 0x100 : byteAbove()) : (c4 >> 8) & 0xff : byteAbove();
    setS27(6, row);
    if (logging) {
      // The row's first use in this record: endRecord copies it back from the frozen table.
      const rows = aboveRows();
      if (load<u8>(rows + <usize>row) === 0) {
        store<u8>(rows + <usize>row, 1);
        const count = load<i32>(rows + 260);
        store<i32>(rows + 264 + (<usize>count << 2), row);
        store<i32>(rows + 260, count + 1);
      }
    }
  }
  if (WORD_BIGRAM) setI32(contextHash, 4, (asciiWord ? (word === 0 ? c4 & 0xff : word) + previousWord * 0x3c6ef372 : c4 & 0xffff) * 0x7feb352d + 0x06000193);
  if (STOP28_OPTIONS !== 0) {
    const pos = historyLength - s28(0);
    const pb = pos === 0 ? 0 : pos < 4 ? 1 : pos < 16 ? 2 : pos < 64 ? 3 : 4;
    setS28(2, (LEN_MIXER3() ? s28(1) : 0) | (POS_MIXER3() ? pb << 3 : 0));
    setS28(7, pb);
    if (ADAPT_RATE() === 2) {
      const bad = s28(8) > ADAPT_T();
      setS28(9, bad ? ADAPT_LOW() : FROZEN_RATE_LIMIT);
      setS28(10, bad ? 96 : MIXER_RATE_FROZEN);
    }
    setS28(3, ((LEN_APM() ? s28(1) : 0) * (POS_APM() ? 5 : 1) + (POS_APM() ? pb : 0)) * 1024);
  }
  computeNibbleBases();
  computeSlots();
}

/** The column of the coming byte (LINES()). */
@inline function column(): i32 {
  return historyLength - s27(4);
}
/** The byte above the coming one in the previous line (its newline when that line ends here), 0x100 when it is shorter or there is none (LINES()). */
@inline function byteAbove(): i32 {
  const at = s27(5) + column();
  return s27(5) >= 0 && at < s27(4) ? historyAt(at) : 0x100;
}

/** EXTRA_CONTEXT's value (before hashing), at a byte's start. */
function extraContext(multiByte: bool): i32 {
  if (EXTRA_CONTEXT === 5 && multiByte) return (char2 * 0x6f4f2e15 + charPending) * 0x2f0b4c2d + 0x0d000193;
  if (EXTRA_CONTEXT === 6 && multiByte) return ((char2 * 0x2f0b4c2d + char1) * 0x6f4f2e15 + charPending) * 0x2f0b4c2d + 0x0e000193;
  if (EXTRA_CONTEXT === 1 || EXTRA_CONTEXT === 5 || EXTRA_CONTEXT === 6 || EXTRA_CONTEXT >= 8) return (min(column(), 255) << 9) | byteAbove();
  if (EXTRA_CONTEXT === 7) return ((c4 & 0xff) << 9) | byteAbove() | 0x20000000;
  if (EXTRA_CONTEXT === 2) {
    const col = column();
    const first = col >= 2 ? <i32>load<u16>(history + <usize>s27(4)) : col === 1 ? historyAt(s27(4)) | 0x10000 : 0x20000;
    return (first * 0x3c6ef372) ^ min(col, 255);
  }
  const aux = (1 << matchBits) * (MATCH2 !== 0 ? 2 : 1);
  if (EXTRA_CONTEXT === 3) return ((c4 & 0xff) << 16) | (auxAt(aux + (c4 & 0xff)) & 0xffff);
  // EXTRA_CONTEXT 4
  return ((c4 & 0xffff) << 8) | (auxAt(aux + 256 + (c4 & 0xffff)) & 0xff);
}

/**
 * Finds each hashed context's bucket of 16 slots for the coming nibble. Slot 0 holds a tag; a
 * context lives in one of two neighbouring buckets, and a new one takes the less used of the two.
 * A frozen model puts contexts it never saw in scratch buckets, wiped after the record.
 */
function computeNibbleBases(): void {
  const nibbleContext = bitPosition === 0 ? 0 : c0;
  if (HASHED === 4) {
    // The loops below unrolled, in locals (the same reads, claims and log entries in the same order).
    const n1 = (nibbleContext + 1) * 0x2545f491;
    const m0 = (i32At(contextHash, 0) ^ n1) * <i32>0x9e3779b1;
    const m1 = (i32At(contextHash, 1) ^ n1) * <i32>0x9e3779b1;
    const m2 = (i32At(contextHash, 2) ^ n1) * <i32>0x9e3779b1;
    const m3 = (i32At(contextHash, 3) ^ n1) * <i32>0x9e3779b1;
    let h0: i32, h1: i32, h2: i32, h3: i32;
    if (PAGE_NIBBLES() && bitPosition !== 0 && hashShift <= 22) {
      // In the page of the byte's first home bucket (nibbleHome), a bucket of its 64 by the nibble's hash.
      h0 = pageBucket(i32At(nibbleHome, 0), m0);
      h1 = pageBucket(i32At(nibbleHome, 1), m1);
      h2 = pageBucket(i32At(nibbleHome, 2), m2);
      h3 = pageBucket(i32At(nibbleHome, 3), m3);
    } else {
      h0 = HASHED_BASE + (<i32>(<u32>(m0 ^ <i32>(<u32>m0 >> 15)) >> hashShift) & ~15);
      h1 = HASHED_BASE + (<i32>(<u32>(m1 ^ <i32>(<u32>m1 >> 15)) >> hashShift) & ~15);
      h2 = HASHED_BASE + (<i32>(<u32>(m2 ^ <i32>(<u32>m2 >> 15)) >> hashShift) & ~15);
      h3 = HASHED_BASE + (<i32>(<u32>(m3 ^ <i32>(<u32>m3 >> 15)) >> hashShift) & ~15);
      if (PAGE_NIBBLES()) {
        setI32(nibbleHome, 0, h0);
        setI32(nibbleHome, 1, h1);
        setI32(nibbleHome, 2, h2);
        setI32(nibbleHome, 3, h3);
      }
    }
    store<i32>(sink, i32At(counters, h0) ^ i32At(counters, h1) ^ i32At(counters, h2) ^ i32At(counters, h3));
    const b0 = nibbleBucket(m0, h0);
    const b1 = nibbleBucket(m1, h1);
    const b2 = nibbleBucket(m2, h2);
    const b3 = nibbleBucket(m3, h3);
    setI32(nibbleBase, 0, b0);
    setI32(nibbleBase, 1, b1);
    setI32(nibbleBase, 2, b2);
    setI32(nibbleBase, 3, b3);
    if (BUCKET_LOG && logging) {
      let n = bucketLogLength;
      n = logBucket(n, b0);
      n = logBucket(n, b1);
      n = logBucket(n, b2);
      n = logBucket(n, b3);
      bucketLogLength = n;
    }
    return;
  }
  // First every context's home bucket is read, with no branch between the reads, so that their
  // cache misses overlap; the loop below then finds them in the cache (and re-reads them, since
  // claiming a bucket for one context may change another's).
  let touched = 0;
  for (let i = 0; i < HASHED; i++) {
    const mixed = (i32At(contextHash, i) ^ (nibbleContext + 1) * 0x2545f491) * <i32>0x9e3779b1;
    const home = HASHED_BASE + (<i32>(<u32>(mixed ^ <i32>(<u32>mixed >> 15)) >> hashShift) & ~15);
    setI32(nibbleMixed, i, mixed);
    setI32(nibbleHome, i, home);
    touched ^= i32At(counters, home);
  }
  store<i32>(sink, touched);
  for (let i = 0; i < HASHED; i++) setI32(nibbleBase, i, nibbleBucket(i32At(nibbleMixed, i), i32At(nibbleHome, i)));
  if (BUCKET_LOG && logging) {
    // Each snapshot bucket this nibble may change, as it is now (scratch buckets are wiped instead).
    let n = bucketLogLength;
    for (let i = 0; i < HASHED; i++) n = logBucket(n, i32At(nibbleBase, i));
    bucketLogLength = n;
  }
}

/** PAGE_NIBBLES(): the bucket of the page of slots (1024, page-aligned) holding `first` that hash `mixed` picks. */
@inline function pageBucket(first: i32, mixed: i32): i32 {
  return (((first - HASHED_BASE) & ~1023) | (<i32>(<u32>(mixed ^ <i32>(<u32>mixed >> 15)) >> 22) & ~15)) + HASHED_BASE;
}

/** computeNibbleBases' search for one context: its home bucket, the neighbour, a scratch bucket (frozen), or a claimed one. */
@inline function nibbleBucket(mixed: i32, home: i32): i32 {
  const tag = (mixed & 0xffff) | 0x10000;
  if (i32At(counters, home) === tag) return home;
  const neighbour = home ^ 16;
  if (i32At(counters, neighbour) === tag) return neighbour;
  if (frozen) return scratchBucket(mixed, tag);
  const victim = (i32At(counters, home + 1) & COUNT_MASK) <= (i32At(counters, neighbour + 1) & COUNT_MASK) ? home : neighbour;
  setI32(counters, victim, tag);
  for (let k = 1; k < 16; k++) setI32(counters, victim + k, INITIAL_COUNTER);
  return victim;
}

/** Appends snapshot bucket `bucket` as it is now to the bucket log at entry `n` (scratch buckets are wiped instead); returns the next entry. */
@inline function logBucket(n: i32, bucket: i32): i32 {
  if (bucket >= scratchBase) return n;
  const entry = bucketLog + <usize>(n * 17 * 4);
  const from = counters + (<usize>bucket << 2);
  store<i32>(entry, bucket);
  v128.store(entry + 4, v128.load(from));
  v128.store(entry + 20, v128.load(from + 16));
  v128.store(entry + 36, v128.load(from + 32));
  v128.store(entry + 52, v128.load(from + 48));
  return n + 1;
}

function scratchBucket(mixed: i32, tag: i32): i32 {
  const bucket = scratchBase + (<i32>(<u32>(mixed * <i32>0x85ebca6b) >> (32 - SCRATCH_BITS)) & ~15);
  const current = i32At(counters, bucket);
  if (current === tag) return bucket;
  if (current === INITIAL_COUNTER) {
    setI32(claimedScratch, claimedScratchLength, bucket);
    claimedScratchLength++;
  } else {
    for (let k = 1; k < 16; k++) setI32(counters, bucket + k, INITIAL_COUNTER);
  }
  setI32(counters, bucket, tag);
  return bucket;
}

/** Inlined into its callers (update, step, codeByte, the record coders, afterByte): cm-cost 8 passes 8.191 -> 8.126 G instructions, the same CPU time within noise. */
@inline function computeSlots(): void {
  const bits = bitPosition;
  const partial = bits < 4 ? c0 : (c0 & ((1 << (bits - 4)) - 1)) | (1 << (bits - 4));
  const s0 = ABOVE_O0() ? ABOVE_BASE() + ((s27(6) << 8) | c0) : c0;
  setI32(slots, 0, s0);
  setI32(slots, 1, O1_BASE + (((c4 & 0xff) << 8) | c0));
  const lengthBucket = matchLength === 0 ? 0 : matchLength < 16 ? 1 : matchLength < 32 ? 2 : 3;
  let known = 0;
  if (HASHED === 4 || EXTRA_CONTEXT !== 0) {
    // Unrolled and branch-free: the highest of orders 2-4 seen (1-3, else 0), plus 4 when the word context was seen.
    const s2 = i32At(nibbleBase, 0) + partial;
    const s3 = i32At(nibbleBase, 1) + partial;
    const s4 = i32At(nibbleBase, 2) + partial;
    const s5 = i32At(nibbleBase, 3) + partial;
    setI32(slots, 2, s2);
    setI32(slots, 3, s3);
    setI32(slots, 4, s4);
    setI32(slots, 5, s5);
    if (HASHED === 5) setI32(slots, 6, i32At(nibbleBase, 4) + partial);
    const v2 = i32At(counters, s2);
    const v3 = i32At(counters, s3);
    const v4 = i32At(counters, s4);
    const v5 = i32At(counters, s5);
    const seen2 = (v2 & 0xffff) !== 0;
    const seen3 = (v3 & 0xffff) !== 0;
    const seen4 = (v4 & 0xffff) !== 0;
    known = select<i32>(3, select<i32>(2, select<i32>(1, 0, seen2), seen3), seen4) + select<i32>(4, 0, (v5 & 0xffff) !== 0);
    if (MIXER_CONFIDENCE) {
      // 8 more when the highest order seen has been seen more than twice.
      const highest = select<i32>(v4, select<i32>(v3, v2, seen3), seen4);
      known += select<i32>(8, 0, (highest & COUNT_MASK) > 2 && seen2);
    }
    if (INPUTS_AT_SLOTS) {
      setInput(0, stretch(<i32>(<u32>i32At(counters, s0) >> 20)));
      setInput(1, stretch(<i32>(<u32>i32At(counters, O1_BASE + (((c4 & 0xff) << 8) | c0)) >> 20)));
      setInput(2, stretch(<i32>(<u32>v2 >> 20)));
      setInput(3, stretch(<i32>(<u32>v3 >> 20)));
      setInput(4, stretch(<i32>(<u32>v4 >> 20)));
      setInput(5, stretch(<i32>(<u32>v5 >> 20)));
    }
  } else {
    for (let i = 0; i < HASHED; i++) setI32(slots, 2 + i, i32At(nibbleBase, i) + partial);
    for (let i = 0; i < 3; i++) if ((i32At(counters, i32At(slots, 2 + i)) & 0xffff) !== 0) known = i + 1;
    if ((i32At(counters, i32At(slots, 5)) & 0xffff) !== 0) known += 4;
  }
  const knownSets = MIXER_CONFIDENCE ? 16 : 8;
  if (MIXER4() === 1) setS28(5, ((s28(1) * 5 + s28(7)) * 256 + c0) * STRIDE);
  else if (MIXER4() === 2) setS28(5, ((known * 3 + (s27(1) > 0 ? 1 + ((s27(2) >> (7 - bits)) & 1) : 0)) * 256 + c0) * STRIDE);
  else if (MIXER4() === 3) setS28(5, ((s28(1) * 8 + (charPosition > 0 ? min(charPosition, 3) : columnBucket())) * 256 + c0) * STRIDE);
  if (UTF8_MIXER === 2) mixerBase = ((((charPosition > 0 || char1 >= 0x80 ? 1 : 0) * 4 + lengthBucket) * knownSets + known) * 256 + c0) * STRIDE;
  else if (LEN_MIXER1()) mixerBase = ((((s28(1) < 3 ? 1 : 0) * 4 + lengthBucket) * knownSets + known) * 256 + c0) * STRIDE;
  else mixerBase = ((lengthBucket * knownSets + known) * 256 + c0) * STRIDE;
  if (COLUMN_MIXER() === 1) mixer2Base = (((c4 & 0xff) * 8 + bits) * 8 + (charPosition > 0 ? min(charPosition, 3) : columnBucket())) * STRIDE;
  else if (UTF8_MIXER === 1) mixer2Base = (((c4 & 0xff) * 8 + bits) * 4 + min(charPosition, 3)) * STRIDE;
  else mixer2Base = ((c4 & 0xff) * 8 + bits) * STRIDE;
  if (MIXER3 && COLUMN_MIXER() === 2) mixer3Base = ((<i32>(<u32>(((c4 & 0xffff) | (columnBucket() << 16)) * <i32>0x9e3779b1) >> 20) << 3) + bits) * STRIDE;
  else if (MIXER3 && MIXER3_EXTRA()) {
    let extra = s28(2);
    if (CONF_MIXER3()) extra |= (known >> 2) << 6;
    if (MATCH2_MIXER3()) extra |= (s27(1) > 0 ? 1 + ((s27(2) >> (7 - bits)) & 1) : 0) << 8;
    mixer3Base = ((<i32>(<u32>(((c4 & 0xffff) | (extra << 16)) * <i32>0x9e3779b1) >> (MIXER3_WIDE() ? 18 : 20)) << 3) + bits) * STRIDE;
  } else if (MIXER3) mixer3Base = ((<i32>(<u32>((c4 & 0xffff) * <i32>0x9e3779b1) >> (MIXER3_WIDE() ? 18 : 20)) << 3) + bits) * STRIDE;
}

/** COLUMN_MIXER(): the column in buckets 0 (a line's first byte), 4 (1-3), 5 (4-15), 6 (16 on). */
@inline function columnBucket(): i32 {
  const col = column();
  return col === 0 ? 0 : col < 4 ? 4 : col < 16 ? 5 : 6;
}
