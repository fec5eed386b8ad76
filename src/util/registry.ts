/** Lookup by name over a fixed list of entries, with an error that lists what is known. */
export class NamedRegistry<T extends { readonly name: string }> {
  constructor(readonly entries: readonly T[], private readonly kind: string) {}

  names(): string[] {
    return this.entries.map((entry) => entry.name);
  }

  find(name: string): T | undefined {
    return this.entries.find((entry) => entry.name === name);
  }

  get(name: string): T {
    const entry = this.find(name);
    if (entry === undefined) throw new Error(`unknown ${this.kind} ${JSON.stringify(name)}; known: ${this.names().join(', ')}`);
    return entry;
  }
}
