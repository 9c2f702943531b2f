/**
 * What model calls cost, from what actually ran: tokens in and out per backend (cloud, priced per
 * 1K tokens) and wall time (local, priced per GPU-hour or by power draw and kWh price).
 */
export interface Price {
  /** Cloud: currency per 1,000 prompt tokens. */
  inputPer1K?: number;
  /** Cloud: currency per 1,000 generated tokens. */
  outputPer1K?: number;
  /** Local: currency per hour of the machine (a GPU rental, say). */
  perHour?: number;
  /** Local: watts drawn while the model runs, with the price of a kWh. */
  watts?: number;
  perKWh?: number;
}

export interface UsageLine {
  backend: string;
  model: string;
  local: boolean;
  calls: number;
  promptTokens: number;
  completionTokens: number;
  ms: number;
}

export interface CostLine extends UsageLine {
  cost: number;
  /** The same tokens at the reference cloud price (what the local run saved, or would have cost). */
  cloudEquivalent: number;
}

export interface CostReport {
  lines: CostLine[];
  total: number;
  /** Cost per 1,000 memories processed. */
  per1000Memories: number;
  /** Local backends' cost against the same tokens at the reference cloud price. */
  local: { cost: number; cloudEquivalent: number; savings: number; savingsShare: number };
}

/**
 * Prices are looked up as `backend/model`, then `backend`; `reference` is the cloud price the
 * local work is compared with (default: the first cloud price given).
 */
export function costReport(usage: readonly UsageLine[], prices: Readonly<Record<string, Price>>, memories: number, reference?: Price): CostReport {
  const cloudReference = reference ?? Object.values(prices).find((p) => p.inputPer1K !== undefined || p.outputPer1K !== undefined) ?? {};
  const tokenCost = (price: Price, line: UsageLine) => (line.promptTokens / 1000) * (price.inputPer1K ?? 0) + (line.completionTokens / 1000) * (price.outputPer1K ?? 0);
  const lines = usage.map((line): CostLine => {
    const price = prices[`${line.backend}/${line.model}`] ?? prices[line.backend] ?? {};
    const hours = line.ms / 3_600_000;
    const cost = line.local ? hours * (price.perHour ?? 0) + ((hours * (price.watts ?? 0)) / 1000) * (price.perKWh ?? 0) : tokenCost(price, line);
    return { ...line, cost, cloudEquivalent: tokenCost(cloudReference, line) };
  });
  const total = lines.reduce((sum, l) => sum + l.cost, 0);
  const localLines = lines.filter((l) => l.local);
  const localCost = localLines.reduce((sum, l) => sum + l.cost, 0);
  const cloudEquivalent = localLines.reduce((sum, l) => sum + l.cloudEquivalent, 0);
  return {
    lines,
    total,
    per1000Memories: memories > 0 ? (total / memories) * 1000 : 0,
    local: { cost: localCost, cloudEquivalent, savings: cloudEquivalent - localCost, savingsShare: cloudEquivalent > 0 ? (cloudEquivalent - localCost) / cloudEquivalent : 0 },
  };
}
