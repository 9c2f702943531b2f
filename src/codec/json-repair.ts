/**
 * Tolerant parsing of JSON that a local model wrote: code fences and chatter around the object,
 * single-quoted strings, Python literals, bare keys, trailing commas and an object cut off by the
 * token limit are repaired; anything else still throws (`SyntaxError`).
 */
export function parseLooseJson(answer: string): { value: unknown; repaired: boolean } {
  const trimmed = answer.trim();
  try {
    return { value: JSON.parse(trimmed), repaired: false };
  } catch {
    // repaired below
  }
  const unfenced = trimmed.replace(/^```[\w-]*\s*/, "").replace(/\s*```[\s\S]*$/, "");
  const first = unfenced.search(/[{[]/);
  if (first < 0) throw new SyntaxError("the answer holds no JSON object");
  const text = unfenced.slice(first);
  const closers: string[] = [];
  let out = "";
  let quote: string | null = null;
  for (let i = 0; i < text.length; ) {
    const c = text[i] as string;
    if (quote !== null) {
      if (c === "\\") {
        const next = text[i + 1];
        if (next !== undefined) out += quote === "'" && next === "'" ? "'" : c + next;
        i += 2;
      } else if (c === quote) {
        out += '"';
        quote = null;
        i++;
      } else {
        out += c === '"' ? '\\"' : c === "\n" ? "\\n" : c === "\r" ? "\\r" : c === "\t" ? "\\t" : c;
        i++;
      }
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      out += '"';
      i++;
      continue;
    }
    if (c === "{" || c === "[") {
      closers.push(c === "{" ? "}" : "]");
      out += c;
      i++;
      continue;
    }
    if (c === "}" || c === "]") {
      out = out.replace(/,\s*$/, "") + c;
      closers.pop();
      i++;
      if (closers.length === 0) break; // chatter after the object
      continue;
    }
    const word = /^[A-Za-z_$][\w$]*/.exec(text.slice(i))?.[0];
    if (word !== undefined) {
      out += LITERALS[word] ?? JSON.stringify(word);
      i += word.length;
      continue;
    }
    out += c;
    i++;
  }
  // Cut off: close the open string, drop a dangling key or separator, close what is open.
  if (quote !== null) out += '"';
  while (closers.length > 0) {
    out = out.replace(/[,\s]+$/, "");
    if (out.endsWith(":")) out += " null";
    if (closers.at(-1) === "}") out = out.replace(/([{,])\s*"(?:[^"\\]|\\.)*"$/, (_match, before: string) => (before === "{" ? "{" : ""));
    out += closers.pop();
  }
  return { value: JSON.parse(out), repaired: true };
}

const LITERALS: Record<string, string> = { true: "true", false: "false", null: "null", True: "true", False: "false", None: "null" };
