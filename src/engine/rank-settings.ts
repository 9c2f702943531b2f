/**
 * How `memzip profile calibrate` ranks whole settings from paired, interleaved rounds: pure
 * functions of the measurements (no timing here), so the rule is tested on invented numbers.
 *
 * Every setting ran once in every round (each starting a round in turn), so round k of two
 * settings shares that round's load. The fastest is the setting with the highest median rate.
 * Another setting is *as fast* (a tie) when its paired log ratio to the fastest — median over the
 * rounds of ln(rate / fastest's rate in the same round) — is within a noise band derived from
 * those rounds' own spread: the one-sided 90 % bound of a paired t-test, t(n−1) · sd / √n, and
 * never less than {@link MIN_BAND} (more threads must pay for themselves by something). Among
 * the fastest and the settings tied with it, the cheapest wins. With fewer than
 * {@link MIN_RANK_ROUNDS} rounds there is no spread to derive a band from: the ranking refuses.
 * It refuses too when the cheapest tied setting is behind the fastest by more than MIN_BAND and
 * its band is wider than {@link MAX_BAND}: then "tied" means the rounds cannot tell the settings apart (a busy machine),
 * not that they are as fast, and taking the cheapest would trade a likely lead for nothing (on a
 * 2-core machine at load 9, every setting "tied" and the cheapest, naive, would have been kept).
 */

/** Rounds below which the spread of the rounds says nothing: the ranking refuses to decide. */
export const MIN_RANK_ROUNDS = 3;
/** The smallest band: a costlier setting must be this much faster (as a share) to replace a cheaper one. */
export const MIN_BAND = 0.03;
/** The widest band a decision is taken on: past it the rounds are too noisy to rank (`noisy`: more rounds may decide). */
export const MAX_BAND = 0.1;

/** One setting's measurements: its cost (threads it keeps busy; lower is cheaper) and its rate in each round, in round order. */
export interface SettingRounds {
  cost: number;
  /** Memories per minute, one per round; round k of every setting was measured side by side. */
  rates: readonly number[];
}

export type Ranking =
  | {
      decided: true;
      /** Index of the chosen setting. */
      chosen: number;
      /** Index of the setting with the highest median rate. */
      fastest: number;
      /** Each setting's paired ratio to the fastest (exp of the median paired log ratio); the fastest's is 1. */
      ratios: number[];
      /** Each setting's noise band (a share, ≥ MIN_BAND); the fastest's is 0. */
      bands: number[];
      /** Indexes of the settings tied with the fastest (the fastest included). */
      tied: number[];
      /** Rounds used (the rounds every setting completed). */
      rounds: number;
    }
  | {
      decided: false;
      reason: string;
      rounds: number;
      /** True when the rounds were too noisy (more rounds may decide); false when too few or broken. */
      noisy: boolean;
    };

/** One-sided 90 % quantiles of Student's t for 1..30 degrees of freedom; past 30, the normal's 1.282. */
const T90 = [3.078, 1.886, 1.638, 1.533, 1.476, 1.44, 1.415, 1.397, 1.383, 1.372, 1.363, 1.356, 1.35, 1.345, 1.341, 1.337, 1.333, 1.33, 1.328, 1.325, 1.323, 1.321, 1.319, 1.318, 1.316, 1.315, 1.314, 1.313, 1.311, 1.31];

export function t90(degreesOfFreedom: number): number {
  if (degreesOfFreedom < 1) return Infinity;
  return T90[degreesOfFreedom - 1] ?? 1.282;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * The noise band of one setting against the fastest from their paired log ratios: the one-sided
 * 90 % bound t(n−1) · sd / √n of the rounds' spread, at least {@link MIN_BAND} (as a share: 1 − e^−x).
 */
export function noiseBand(logRatios: readonly number[]): number {
  const n = logRatios.length;
  if (n < 2) return Infinity;
  const mean = logRatios.reduce((s, x) => s + x, 0) / n;
  const sd = Math.sqrt(logRatios.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  return Math.max(MIN_BAND, 1 - Math.exp(-(t90(n - 1) * sd) / Math.sqrt(n)));
}

/**
 * Ranks settings measured in paired rounds (see the module comment). Rates that are not positive
 * finite numbers make the ranking refuse too: a round that failed measured nothing.
 */
export function rankSettings(settings: readonly SettingRounds[], options: { minRounds?: number; maxBand?: number } = {}): Ranking {
  const minRounds = Math.max(2, options.minRounds ?? MIN_RANK_ROUNDS);
  const maxBand = options.maxBand ?? MAX_BAND;
  const rounds = settings.length === 0 ? 0 : Math.min(...settings.map((s) => s.rates.length));
  if (settings.length === 0) return { decided: false, reason: "no settings were measured", rounds, noisy: false };
  if (rounds < minRounds) {
    return { decided: false, reason: `${rounds} paired round${rounds === 1 ? "" : "s"} of every setting; at least ${minRounds} are needed to tell a difference from the rounds' noise`, rounds, noisy: false };
  }
  const rates = settings.map((s) => s.rates.slice(0, rounds));
  if (rates.some((r) => r.some((x) => !(Number.isFinite(x) && x > 0)))) return { decided: false, reason: "a round measured no throughput (a rate that is not a positive number)", rounds, noisy: false };
  const medians = rates.map((r) => median(r));
  const fastest = medians.indexOf(Math.max(...medians));
  const reference = rates[fastest] as number[];
  const ratios: number[] = [];
  const bands: number[] = [];
  const tied: number[] = [];
  rates.forEach((r, i) => {
    if (i === fastest) {
      ratios.push(1);
      bands.push(0);
      tied.push(i);
      return;
    }
    const logs = r.map((rate, k) => Math.log(rate / (reference[k] as number)));
    const ratio = Math.exp(median(logs));
    const band = noiseBand(logs);
    ratios.push(ratio);
    bands.push(band);
    if (ratio >= 1 - band) tied.push(i);
  });
  // The cheapest of the tied; equal cost: the faster median.
  const chosen = [...tied].sort((a, b) => (settings[a] as SettingRounds).cost - (settings[b] as SettingRounds).cost || (medians[b] as number) - (medians[a] as number))[0] as number;
  if (chosen !== fastest && (ratios[chosen] as number) < 1 - MIN_BAND && (bands[chosen] as number) > maxBand) {
    const share = (x: number) => `${(x * 100).toFixed(1)} %`;
    return {
      decided: false,
      reason: `setting ${chosen} is ${share(1 - (ratios[chosen] as number))} behind the fastest (${fastest}) by the median of ${rounds} paired rounds, within a noise band of ${share(bands[chosen] as number)}: wider than ${share(maxBand)}, the rounds cannot tell them apart`,
      rounds,
      noisy: true,
    };
  }
  return { decided: true, chosen, fastest, ratios, bands, tied, rounds };
}
