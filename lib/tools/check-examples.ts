/**
 * Type-checks the `@example` blocks of lib/ (`npm run examples`, run by `npm run lint` and by the infra tests).
 *
 * An example is only worth its place while it still compiles against the code it documents, and nothing
 * else notices when an option is renamed under it. So each example becomes a module in a temporary directory
 * that imports every name its own module exports (an example uses them bare, as a reader would), and all of
 * them are checked in one program with the project's compiler options. What an example leaves to its reader
 * (a `registry`, an `event`) comes back from the compiler as "Cannot find name": a name exported by exactly
 * one module of lib/ (or a class or type exported by exactly one package lib/ imports) is imported from
 * there, any other is declared `any`, and the changed examples are checked again until nothing new is
 * missing. What the compiler still reports is an example that drifted from the code.
 */
import { existsSync, realpathSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** What {@link checkExamples} found: how many examples it checked, and one line per compiler error in them. */
export interface ExampleCheck {
  /** How many `@example` blocks were checked. */
  readonly checked: number;
  /** `lib/file.ts:line:column: message (TScode)`, the line and column those of the example's own text. */
  readonly problems: string[];
}

/** One `@example` block as it stands in a TSDoc comment. */
interface Example {
  /** The documented module, absolute. */
  readonly file: string;
  /** 1-based line of the `@example` tag, where problems outside the example's own lines are reported. */
  readonly tagLine: number;
  /** The example's lines, each without its leading ` * `; line i is line tagLine + 1 + i of the file. */
  readonly lines: readonly string[];
}

/** Where an example gets a name it uses without declaring: a module to import it from, or nowhere (`any`). */
interface Supply {
  /** An absolute lib/ file or a package specifier; undefined declares the name `any`. */
  readonly from?: string;
  /** Whether the name has a value meaning (imported plainly) or is a type only (`import { type X }`). */
  readonly isValue: boolean;
}

/** For each exported name, the distinct symbols it names and where to import each from. */
type Offers = Map<string, Map<ts.Symbol, Required<Supply>>>;

/**
 * Compiler codes for a name that is not in scope: "Cannot find name" (2304), the same with "Did you mean"
 * (2552), and a shorthand property naming nothing (18004, `{ engine, store }` with neither declared).
 */
const MISSING_NAME_CODES: ReadonlySet<number> = new Set([2304, 2552, 18004]);

/**
 * Rounds of "declare what is missing, check again" before giving up. One round finds every missing name
 * of an example; a second is needed only when a supplied import makes a new one visible.
 */
const MAX_ROUNDS = 4;

/** A name that can be declared (what a missing-name diagnostic points at, normally). */
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** A line of a TSDoc comment that starts a block tag, ending the example before it. */
const BLOCK_TAG = /^@[A-Za-z]/;

/**
 * Type-checks every `@example` of `<root>/lib/**\/*.ts` against the code, with `<root>/tsconfig.json`.
 *
 * @example
 * const { checked, problems } = await checkExamples(process.cwd());
 * if (problems.length > 0) throw new Error(`${problems.length} of ${checked} examples do not compile`);
 */
export async function checkExamples(projectRoot: string): Promise<ExampleCheck> {
  const root = resolve(projectRoot);
  const options = compilerOptions(root);
  const files = libFiles(root);
  const host = cachingHost(options);
  const lib = ts.createProgram({ rootNames: files, options, host: host.host });
  const examples = files.flatMap((file) => examplesIn(sourceFile(lib, file)));
  const exportsOf = moduleExports(lib, files);
  const importable = importableNames(lib, files);

  const dir = await mkdtemp(join(tmpdir(), 'sluice-examples-'));
  try {
    // The examples are ES modules (top-level await, imports of lib/) that resolve packages as lib/ does.
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
    await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'junction');
    const modules = examples.map(
      (example) => new ExampleModule(example, dir, root, exportsOf.get(example.file) ?? []),
    );
    const diagnostics = new Map<ExampleModule, readonly ts.Diagnostic[]>();
    let program = lib;
    let pending = modules;
    for (let round = 0; round < MAX_ROUNDS && pending.length > 0; round++) {
      for (const module of pending) {
        await writeFile(module.path, module.render());
        host.forget(module.path);
      }
      program = ts.createProgram({
        rootNames: [...files, ...modules.map((module) => module.path)],
        options,
        host: host.host,
        oldProgram: program,
      });
      const changed: ExampleModule[] = [];
      for (const module of pending) {
        const source = sourceFile(program, module.path);
        const found = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
        diagnostics.set(module, found);
        if (module.supplyMissing(found, source, importable)) changed.push(module);
      }
      pending = changed;
    }
    const problems = modules.flatMap((module) => [
      ...(module.isEmpty ? [module.problemAtTag('an @example with no code')] : []),
      ...(diagnostics.get(module) ?? []).map((diagnostic) => module.problem(diagnostic)),
    ]);
    return { checked: examples.length, problems };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The project's compiler options, with unused names allowed (an example declares what it shows) and implicit
 * `any` allowed (a callback passed to a reader's `any` value has no contextual type; that is not drift).
 */
function compilerOptions(root: string): ts.CompilerOptions {
  const configPath = join(root, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
  if (read.error) throw new Error(`${configPath}: ${messageOf(read.error)}`);
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root, undefined, configPath);
  // "No inputs were found" is about the config's own file list, which is not what is checked here.
  const errors = parsed.errors.filter((error) => error.code !== 18003);
  if (errors.length > 0) throw new Error(`${configPath}: ${errors.map(messageOf).join('; ')}`);
  return {
    ...parsed.options,
    noUnusedLocals: false,
    noUnusedParameters: false,
    noImplicitAny: false,
    noEmit: true,
  };
}

/** Every TypeScript source of `<root>/lib`, absolute, in a stable order. */
function libFiles(root: string): string[] {
  return ts.sys
    .readDirectory(join(root, 'lib'), ['.ts'])
    .filter((path) => !path.endsWith('.d.ts'))
    .map((path) => resolve(path))
    .sort();
}

/**
 * A compiler host that parses each file once: the program is rebuilt every round, and lib/ and its
 * packages do not change between rounds.
 */
function cachingHost(options: ts.CompilerOptions): { host: ts.CompilerHost; forget: (path: string) => void } {
  const host = ts.createCompilerHost(options);
  const parse = host.getSourceFile.bind(host);
  const cache = new Map<string, ts.SourceFile | undefined>();
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreateNewSourceFile) => {
    if (!cache.has(fileName)) {
      cache.set(fileName, parse(fileName, languageVersion, onError, shouldCreateNewSourceFile));
    }
    return cache.get(fileName);
  };
  return { host, forget: (path) => cache.delete(path) };
}

/** A file of the program, which must be there. */
function sourceFile(program: ts.Program, path: string): ts.SourceFile {
  const source = program.getSourceFile(path);
  if (source === undefined) throw new Error(`${path} is not in the program`);
  return source;
}

/** The `@example` blocks of every TSDoc comment of a file, in the order they appear. */
function examplesIn(source: ts.SourceFile): Example[] {
  const seen = new Set<number>();
  const examples: Example[] = [];
  const visit = (node: ts.Node): void => {
    for (const range of ts.getLeadingCommentRanges(source.text, node.pos) ?? []) {
      if (seen.has(range.pos) || range.kind !== ts.SyntaxKind.MultiLineCommentTrivia) continue;
      seen.add(range.pos);
      const text = source.text.slice(range.pos, range.end);
      if (text.startsWith('/**') && !text.startsWith('/**/')) {
        const firstLine = source.getLineAndCharacterOfPosition(range.pos).line + 1;
        examples.push(...examplesInComment(source.fileName, firstLine, text));
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return examples.sort((a, b) => a.tagLine - b.tagLine);
}

/**
 * The examples of one TSDoc comment: the lines after each `@example` up to the next block tag or the end of
 * the comment. Text after the tag on its own line is the example's title (TSDoc), not code; a Markdown code
 * fence becomes a blank line, so every line keeps its number.
 */
function examplesInComment(file: string, firstLine: number, comment: string): Example[] {
  const lines = comment
    .slice('/**'.length, -'*/'.length)
    .split('\n')
    .map((line) => line.replace(/\r$/, '').replace(/^\s*\*? ?/, ''));
  const examples: Example[] = [];
  for (let index = 0; index < lines.length; index++) {
    if (!/^@example\b/.test(lines[index]?.trim() ?? '')) continue;
    const body: string[] = [];
    let next = index + 1;
    for (; next < lines.length && !BLOCK_TAG.test(lines[next]?.trim() ?? ''); next++) {
      const line = lines[next] ?? '';
      body.push(line.trim().startsWith('```') ? '' : line);
    }
    examples.push({ file, tagLine: firstLine + index, lines: body });
    index = next - 1;
  }
  return examples;
}

/** An exported name and whether it has a value meaning. */
interface ExportedName {
  readonly name: string;
  readonly isValue: boolean;
}

/** The names each lib/ module exports, which its examples use bare. */
function moduleExports(program: ts.Program, files: readonly string[]): Map<string, ExportedName[]> {
  const checker = program.getTypeChecker();
  const exportsOf = new Map<string, ExportedName[]>();
  for (const file of files) {
    exportsOf.set(
      file,
      exportedSymbols(checker, sourceFile(program, file)).map(({ name, symbol }) => ({
        name,
        isValue: (symbol.flags & ts.SymbolFlags.Value) !== 0,
      })),
    );
  }
  return exportsOf;
}

/** A module's exports by name, each resolved through re-exports to the symbol that declares it. */
function exportedSymbols(checker: ts.TypeChecker, node: ts.Node): { name: string; symbol: ts.Symbol }[] {
  const moduleSymbol = checker.getSymbolAtLocation(node);
  if (moduleSymbol === undefined) return [];
  return checker
    .getExportsOfModule(moduleSymbol)
    .filter((symbol) => symbol.name !== 'default')
    .map((symbol) => ({
      name: symbol.name,
      symbol: symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The names an example may use without importing, and where they come from: a name exported by exactly one
 * lib/ module (one declaration, however many index files re-export it), else a capitalised name (a class or
 * a type: `S3Client`, `Logger`) exported by exactly one package lib/ imports. Lower-case package exports are
 * left out: they are too often the name of a reader's value (zod exports a `config`).
 */
function importableNames(program: ts.Program, files: readonly string[]): Map<string, Supply> {
  const checker = program.getTypeChecker();
  const fromLib: Offers = new Map();
  const fromPackages: Offers = new Map();
  const offer = (table: Offers, name: string, symbol: ts.Symbol, from: string): void => {
    const bySymbol = table.get(name) ?? new Map<ts.Symbol, Required<Supply>>();
    table.set(name, bySymbol);
    // Of the modules that export one declaration (itself and the index files), import from its own.
    const declaredHere = symbol.declarations?.some(
      (declaration) => declaration.getSourceFile().fileName === from,
    );
    if (!bySymbol.has(symbol) || declaredHere) {
      bySymbol.set(symbol, { from, isValue: (symbol.flags & ts.SymbolFlags.Value) !== 0 });
    }
  };
  for (const file of files) {
    const source = sourceFile(program, file);
    for (const { name, symbol } of exportedSymbols(checker, source)) offer(fromLib, name, symbol, file);
    for (const statement of source.statements) {
      if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
      const specifier = statement.moduleSpecifier.text;
      if (specifier.startsWith('.')) continue;
      for (const { name, symbol } of exportedSymbols(checker, statement.moduleSpecifier)) {
        if (/^[A-Z]/.test(name)) offer(fromPackages, name, symbol, specifier);
      }
    }
  }
  const importable = new Map<string, Supply>();
  for (const table of [fromPackages, fromLib]) {
    for (const [name, bySymbol] of table) {
      const [only, ...others] = [...bySymbol.values()];
      if (only !== undefined && others.length === 0) importable.set(name, only);
    }
  }
  return importable;
}

/** One example written out as a module: its imports, what it was missing, and where its lines came from. */
class ExampleModule {
  /** Where the module is written. */
  readonly path: string;
  readonly #example: Example;
  readonly #dir: string;
  readonly #root: string;
  /** The documented module's exports, minus those the example declares itself. */
  readonly #exports: readonly ExportedName[];
  /** Names the example uses without declaring, and where each now comes from. */
  readonly #supplied = new Map<string, Supply>();
  /** Whether the example is checked inside a function, for its `this` (see {@link ExampleShape}). */
  readonly #inFunction: boolean;
  /** See {@link ExampleShape.importsEnd}. */
  readonly #importsEnd: number;
  /** How many lines precede the example's own in the module as last rendered. */
  #headerLines = 0;

  constructor(example: Example, dir: string, root: string, exported: readonly ExportedName[]) {
    this.#example = example;
    this.#dir = dir;
    this.#root = root;
    const shape = shapeOf(example.lines.join('\n'));
    this.#exports = exported.filter(({ name }) => !shape.declared.has(name));
    this.#inFunction = shape.inFunction;
    this.#importsEnd = shape.importsEnd;
    const name = relative(root, example.file).split(sep).join('__').replace(/\.ts$/, '');
    // In the compiler's own spelling (forward slashes), so the host's cache can forget it by this name.
    this.path = join(dir, `${name}.L${example.tagLine}.ts`).split(sep).join('/');
  }

  /** Whether the example has no code at all. */
  get isEmpty(): boolean {
    return this.#example.lines.every((line) => line.trim() === '');
  }

  /** The module's text: the imports and declarations the example needs, then its lines (a module either way). */
  render(): string {
    const imports = new Map<string, string[]>();
    const declared: string[] = [];
    const use = (from: string, name: string, isValue: boolean): void => {
      imports.set(from, [...(imports.get(from) ?? []), isValue ? name : `type ${name}`]);
    };
    for (const { name, isValue } of this.#exports) use(this.#example.file, name, isValue);
    for (const [name, supply] of this.#supplied) {
      if (supply.from === undefined) declared.push(`declare const ${name}: any; type ${name} = any;`);
      else use(supply.from, name, supply.isValue);
    }
    const header = [
      ...[...imports].map(
        ([from, names]) => `import { ${names.join(', ')} } from '${this.#specifier(from)}';`,
      ),
      ...declared,
    ];
    const lines = [...this.#example.lines];
    if (this.#inFunction) {
      // Opened on the last import's line (or a line of its own), so the example's lines keep their numbers.
      const opener = 'export async function example(this: any): Promise<void> {';
      if (this.#importsEnd < 0) header.push(opener);
      else lines[this.#importsEnd] = `${lines[this.#importsEnd]} ${opener}`;
    }
    this.#headerLines = header.length;
    return [...header, ...lines, this.#inFunction ? '}' : 'export {};', ''].join('\n');
  }

  /**
   * Supplies each name the compiler could not find (an import when one module offers it, else `any`);
   * whether there was any, so the module needs checking again.
   */
  supplyMissing(
    diagnostics: readonly ts.Diagnostic[],
    source: ts.SourceFile,
    importable: ReadonlyMap<string, Supply>,
  ): boolean {
    let changed = false;
    for (const diagnostic of diagnostics) {
      if (!MISSING_NAME_CODES.has(diagnostic.code) || diagnostic.start === undefined) continue;
      const name = source.text.slice(diagnostic.start, diagnostic.start + (diagnostic.length ?? 0));
      if (!IDENTIFIER.test(name) || this.#supplied.has(name)) continue;
      this.#supplied.set(name, importable.get(name) ?? { isValue: true });
      changed = true;
    }
    return changed;
  }

  /**
   * A compiler diagnostic as a problem line, at the line of the example's text it is about (at the tag when
   * it is about what the example was given: an import, a declaration).
   */
  problem(diagnostic: ts.Diagnostic): string {
    const message = `${messageOf(diagnostic)} (TS${diagnostic.code})`;
    if (diagnostic.file === undefined || diagnostic.start === undefined) return this.problemAtTag(message);
    const at = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    if (at.line < this.#headerLines) return this.problemAtTag(message);
    return this.#at(this.#example.tagLine + 1 + at.line - this.#headerLines, at.character + 1, message);
  }

  /** A problem line at the example's `@example` tag. */
  problemAtTag(message: string): string {
    return this.#at(this.#example.tagLine, 1, message);
  }

  #at(line: number, column: number, message: string): string {
    const file = relative(this.#root, this.#example.file).split(sep).join('/');
    return `${file}:${line}:${column}: ${message}`;
  }

  /** How this module imports `from`: a package as named, a lib/ file by its relative `.js` path. */
  #specifier(from: string): string {
    if (!isAbsolute(from)) return from;
    const path = relative(this.#dir, from).split(sep).join('/').replace(/\.ts$/, '.js');
    return path.startsWith('.') ? path : `./${path}`;
  }
}

/** What an example's own code declares and needs, read from its syntax alone. */
interface ExampleShape {
  /** The names it declares at its top level, which it must not also import. */
  readonly declared: ReadonlySet<string>;
  /**
   * Whether it uses `this` outside any function: a construct's scope, written as in a stack's constructor.
   * Such an example is checked inside a function whose `this` is `any`, when it exports nothing and its
   * imports come first (they stay at the top).
   */
  readonly inFunction: boolean;
  /** The 0-based line its leading imports end on (the function opens there), or -1 without imports. */
  readonly importsEnd: number;
}

/** The shape of an example's code (see {@link ExampleShape}). */
function shapeOf(code: string): ExampleShape {
  const source = ts.createSourceFile('example.ts', code, ts.ScriptTarget.ESNext);
  const declared = new Set<string>();
  const bind = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) declared.add(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
  };
  let importsEnd = -1;
  let importsLead = true;
  let lateImport = false;
  let exports = false;
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      if (importsLead) importsEnd = source.getLineAndCharacterOfPosition(statement.end).line;
      else lateImport = true;
      const clause = statement.importClause;
      if (clause?.name !== undefined) declared.add(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings !== undefined && ts.isNamespaceImport(bindings)) declared.add(bindings.name.text);
      if (bindings !== undefined && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) declared.add(element.name.text);
      }
      continue;
    }
    importsLead = false;
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bind(declaration.name);
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement)) &&
      statement.name !== undefined
    ) {
      declared.add(statement.name.text);
    }
    exports ||=
      ts.isExportDeclaration(statement) ||
      ts.isExportAssignment(statement) ||
      (ts.canHaveModifiers(statement) &&
        (ts.getModifiers(statement) ?? []).some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword));
  }
  // An arrow function sees the `this` around it; any other function or a class has its own.
  const ownThis = (node: ts.Node): boolean =>
    ts.isClassLike(node) || (ts.isFunctionLike(node) && !ts.isArrowFunction(node));
  const usesThis = (node: ts.Node): boolean =>
    node.kind === ts.SyntaxKind.ThisKeyword ||
    (!ownThis(node) && (ts.forEachChild(node, (child) => usesThis(child) || undefined) ?? false));
  return { declared, inFunction: !exports && !lateImport && usesThis(source), importsEnd };
}

/** A diagnostic's message on one line. */
function messageOf(diagnostic: ts.Diagnostic): string {
  return ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
}

/** Run as a script (`npm run examples`): print the problems, exit 1 when there are any. */
function isMain(): boolean {
  const script = process.argv[1];
  if (script === undefined || !existsSync(script)) return false;
  return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
}

if (isMain()) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const { checked, problems } = await checkExamples(root);
  for (const problem of problems) console.error(problem);
  console.log(
    `${checked} TSDoc examples checked: ${problems.length === 0 ? 'all compile' : `${problems.length} problem(s)`}`,
  );
  process.exitCode = problems.length > 0 ? 1 : 0;
}
