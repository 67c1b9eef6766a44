/**
 * The top-level keys of one JSON object text, in order and with repeats:
 * `JSON.parse` keeps only the last of two equal keys, so it cannot tell a
 * log line that carries `pid` twice.
 */
export function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, end + 1)) as string);
      expectKey = false;
      i = end;
    } else if (char === '{' || char === '[') {
      depth++;
      expectKey = depth === 1;
    } else if (char === '}' || char === ']') {
      depth--;
    } else if (char === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}

/** The keys that occur more than once. */
export function duplicateKeys(text: string): string[] {
  const keys = topLevelKeys(text);
  return keys.filter((key, index) => keys.indexOf(key) !== index);
}
