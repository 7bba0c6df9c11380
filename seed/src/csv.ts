/** One CSV record and the 1-based line it starts on (a quoted field may span lines). */
export interface CsvRecord {
  fields: string[];
  line: number;
}

/** A CSV syntax error; the message reads `file:line: reason`. */
export class CsvError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = "CsvError";
  }
}

/**
 * RFC 4180 records: comma-separated fields, double-quoted fields may hold commas, newlines
 * and doubled quotes (`""`). CRLF and LF both end a record; blank lines are skipped; a
 * leading byte-order mark is ignored. Strict about what RFC 4180 forbids (a quote inside an
 * unquoted field, text after a closing quote, an unterminated quote), so bad input fails
 * with the line it is on instead of producing shifted columns.
 */
export function* parseCsv(text: string, file = "input.csv"): Generator<CsvRecord> {
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let atRecordEnd = false;
    // Skip blank lines between records.
    if (text[i] === "\n" || text[i] === "\r") {
      if (text[i] === "\r" && text[i + 1] === "\n") i++;
      i++;
      line++;
      continue;
    }
    while (!atRecordEnd) {
      if (text[i] === '"') {
        // Quoted field.
        let value = "";
        i++;
        for (;;) {
          if (i >= n) throw new CsvError(file, start, "unterminated quoted field");
          const ch = text[i] as string;
          if (ch === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (ch === "\n") line++;
          value += ch;
          i++;
        }
        fields.push(value);
        const next = text[i];
        if (next === ",") i++;
        else if (next === undefined) atRecordEnd = true;
        else if (next === "\n" || next === "\r") atRecordEnd = true;
        else throw new CsvError(file, line, `unexpected '${next}' after a closing quote`);
      } else {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === 44 /* , */ || c === 10 || c === 13) break;
          if (c === 34 /* " */)
            throw new CsvError(file, line, "a quote inside an unquoted field (quote the whole field)");
          j++;
        }
        fields.push(text.slice(i, j));
        i = j;
        if (text[i] === ",") {
          i++;
          // A trailing comma ends the record with one more empty field.
          if (i >= n || text[i] === "\n" || text[i] === "\r") {
            fields.push("");
            atRecordEnd = true;
          }
        } else atRecordEnd = true;
      }
    }
    if (text[i] === "\r") i++;
    if (text[i] === "\n") i++;
    line++;
    yield { fields, line: start };
  }
}
