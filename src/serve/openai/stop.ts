// Stop strings over a token stream: text is released only once no stop string can still start in it, and a stop
// string found ends the text just before it (OpenAI: "the returned text will not contain the stop sequence").
// Tokens are released whole, with their logprobs, except the one a stop string starts inside: its text is cut.

export interface Piece<T> {
  text: string;
  meta: T;
}

export class StopCutter<T> {
  private pending: Piece<T>[] = [];
  private text = ''; // the pending pieces' text
  stopped = false;

  constructor(private readonly stops: readonly string[]) {}

  /** Add a token's text; returns the pieces now safe to release. After a stop string, nothing more is taken. */
  push(p: Piece<T>): Piece<T>[] {
    if (this.stopped) return [];
    this.pending.push(p);
    this.text += p.text;
    let cut = -1;
    for (const s of this.stops) {
      const i = this.text.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.stopped = true;
      return this.release(cut, true);
    }
    return this.release(this.text.length - this.heldBack(), false);
  }

  /** The end of generation: whatever is pending. */
  end(): Piece<T>[] {
    return this.stopped ? [] : this.release(this.text.length, false);
  }

  /** Length of the longest suffix of the pending text that is a proper prefix of a stop string. */
  private heldBack(): number {
    let h = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.text.length); k > h; k--) {
        if (this.text.endsWith(s.slice(0, k))) {
          h = k;
          break;
        }
      }
    }
    return h;
  }

  /** Release pieces lying before `upTo` (whole ones; with `cut`, also the piece `upTo` falls inside, cut there). */
  private release(upTo: number, cut: boolean): Piece<T>[] {
    const out: Piece<T>[] = [];
    let at = 0;
    let i = 0;
    for (; i < this.pending.length; i++) {
      const p = this.pending[i];
      const end = at + p.text.length;
      if (end <= upTo) out.push(p);
      else {
        if (cut && at < upTo) out.push({ ...p, text: p.text.slice(0, upTo - at) });
        break;
      }
      at = end;
    }
    this.pending = this.pending.slice(i);
    this.text = this.text.slice(at);
    if (cut) {
      this.pending = [];
      this.text = '';
    }
    return out;
  }
}
