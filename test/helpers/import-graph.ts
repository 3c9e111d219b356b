/**
 * Reads every import of a TypeScript source, in every form the language and Node offer, and
 * checks them against layering rules. The architecture test runs it over src/; it is a module
 * of its own so that the test can also feed it sources with a known violation and see it bite.
 *
 * Import forms read (through the TypeScript compiler's syntax tree, not a regular expression):
 * `import ... from "x"`, `import "x"`, `export ... from "x"`, `import("x")` (an argument that
 * is not a plain string cannot be checked, so it is a violation of its own), `import("x").T`
 * in types, `require("x")` and `createRequire(...)("x")`.
 * @module
 */
import { builtinModules } from "node:module";
import { dirname, join, normalize, relative } from "node:path";
import ts from "typescript";

/** One layer: the source it holds, and what it may import. */
export interface Layer {
  readonly name: string;
  /**
   * Paths under src/ that belong to the layer: a folder (`hub`), a file (`errors.ts`), or
   * `http/*` for every subfolder of http/. The longest match wins.
   */
  readonly holds: readonly string[];
  /** Layers it may import from (itself always). */
  readonly imports: readonly string[];
  /** Node built-in modules it may import, without the `node:` prefix; "any" for all. */
  readonly builtins: readonly string[] | "any";
  /** npm packages it may import. */
  readonly packages: readonly string[];
  /** Why the layer exists, for the generated docs. */
  readonly owns: string;
}

/** One import found in a file. */
export interface FoundImport {
  /** The specifier as written, or undefined when it is not a plain string. */
  readonly specifier: string | undefined;
  readonly line: number;
  /** How it was written: `import`, `export`, `import()`, `import type()`, `require`. */
  readonly form: string;
  /** The text of a specifier that is not a plain string. */
  readonly expression?: string;
}

/** Every import of `text` (a TypeScript module). */
export function findImports(fileName: string, text: string): FoundImport[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: FoundImport[] = [];
  const lineOf = (node: ts.Node): number =>
    source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const add = (node: ts.Node, form: string, argument: ts.Node | undefined): void => {
    if (argument === undefined) return;
    if (ts.isStringLiteral(argument) || ts.isNoSubstitutionTemplateLiteral(argument)) {
      found.push({ specifier: argument.text, line: lineOf(node), form });
    } else {
      found.push({
        specifier: undefined,
        line: lineOf(node),
        form,
        expression: argument.getText(source),
      });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node, "import", node.moduleSpecifier);
    else if (ts.isExportDeclaration(node)) add(node, "export", node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node)) {
      if (ts.isExternalModuleReference(node.moduleReference)) {
        add(node, "require", node.moduleReference.expression);
      }
    } else if (ts.isImportTypeNode(node)) {
      const argument = node.argument;
      if (ts.isLiteralTypeNode(argument)) add(node, "import type()", argument.literal);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isDynamicImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === "require";
      const isCreatedRequire =
        ts.isCallExpression(callee) &&
        ts.isIdentifier(callee.expression) &&
        callee.expression.text === "createRequire";
      if (isDynamicImport) add(node, "import()", node.arguments[0]);
      else if (isRequire || isCreatedRequire) add(node, "require", node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const BUILTINS = new Set(builtinModules);

/** A Node built-in's name without `node:` and subpath (`fs/promises` -> `fs`), or undefined. */
function builtinOf(specifier: string): string | undefined {
  const bare = specifier.startsWith("node:") ? specifier.slice(5) : specifier;
  const base = bare.split("/")[0]!;
  if (specifier.startsWith("node:") || BUILTINS.has(bare) || BUILTINS.has(base)) return base;
  return undefined;
}

/** An npm package's name (`@scope/name` or `name`) from a bare specifier. */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/** Layering rules and the layer of each file. */
export class LayerRules {
  readonly layers: readonly Layer[];
  readonly #byName: ReadonlyMap<string, Layer>;

  constructor(layers: readonly Layer[]) {
    this.layers = layers;
    this.#byName = new Map(layers.map((layer) => [layer.name, layer]));
    for (const layer of layers) {
      for (const name of layer.imports) {
        if (!this.#byName.has(name)) throw new Error(`${layer.name} imports unknown layer ${name}`);
      }
    }
  }

  /** The layer holding `path` (relative to src/, with `/`), or undefined. */
  layerOf(path: string): Layer | undefined {
    let best: Layer | undefined;
    let bestLength = -1;
    for (const layer of this.layers) {
      for (const hold of layer.holds) {
        const matches = hold.endsWith("/*")
          ? path.startsWith(hold.slice(0, -1)) && path.slice(hold.length - 1).includes("/")
          : path === hold || path.startsWith(`${hold}/`);
        const length = hold.endsWith("/*") ? hold.length - 2 : hold.length;
        if (matches && length > bestLength) {
          best = layer;
          bestLength = length;
        }
      }
    }
    return best;
  }

  /**
   * The violations of one file: `path` relative to src/, `text` its TypeScript. Each is one
   * line: `src/<path>:<line> (<layer>) <what is wrong>`.
   */
  check(path: string, text: string): string[] {
    const layer = this.layerOf(path);
    if (layer === undefined) return [`src/${path} is in no layer of the architecture`];
    const problems: string[] = [];
    const where = (line: number): string => `src/${path}:${line} (${layer.name})`;
    for (const found of findImports(path, text)) {
      const { specifier } = found;
      if (specifier === undefined) {
        problems.push(
          `${where(found.line)} ${found.form} of ${found.expression} cannot be checked: use a string literal`,
        );
        continue;
      }
      if (specifier.startsWith(".")) {
        const target = normalize(join(dirname(path), specifier)).replace(/\.js$/, ".ts");
        if (target.startsWith("..")) {
          problems.push(`${where(found.line)} imports ${specifier}, outside src/`);
          continue;
        }
        const targetLayer = this.layerOf(target);
        if (targetLayer === undefined) {
          problems.push(`${where(found.line)} imports ${specifier}, in no layer`);
        } else if (targetLayer !== layer && !layer.imports.includes(targetLayer.name)) {
          problems.push(
            `${where(found.line)} imports ${specifier} (${targetLayer.name}): ${layer.name} may import ${[layer.name, ...layer.imports].join(", ")}`,
          );
        }
        continue;
      }
      const builtin = builtinOf(specifier);
      if (builtin !== undefined) {
        if (layer.builtins !== "any" && !layer.builtins.includes(builtin)) {
          problems.push(
            `${where(found.line)} imports ${specifier}: ${layer.name} may use ${layer.builtins.length === 0 ? "no Node built-in" : layer.builtins.join(", ")}`,
          );
        }
        continue;
      }
      const name = packageOf(specifier);
      if (!layer.packages.includes(name)) {
        problems.push(
          `${where(found.line)} imports the package ${name}: ${layer.name} may use ${layer.packages.length === 0 ? "no package" : layer.packages.join(", ")}`,
        );
      }
    }
    return problems;
  }

  /**
   * The layer graph as a Mermaid flowchart, edges from importer to imported, transitive edges
   * left out so the picture stays readable (the table beside it lists every edge).
   */
  mermaid(): string {
    const lines = ["flowchart TD"];
    for (const layer of this.layers) {
      for (const name of layer.imports) {
        if (!this.#reachesOtherwise(layer, name)) lines.push(`  ${id(layer.name)} --> ${id(name)}`);
      }
    }
    return lines.join("\n");
  }

  /** The rules as a Markdown table: layer, what it owns, imports, built-ins, packages. */
  table(): string {
    const rows = [
      "| layer | holds | owns | may import | Node built-ins | packages |",
      "|---|---|---|---|---|---|",
    ];
    for (const layer of this.layers) {
      const builtins = layer.builtins === "any" ? "any" : layer.builtins.join(", ") || "none";
      rows.push(
        `| ${layer.name} | ${layer.holds.map((h) => `\`src/${h}\``).join(", ")} | ${layer.owns} | ${layer.imports.join(", ") || "nothing"} | ${builtins} | ${layer.packages.join(", ") || "none"} |`,
      );
    }
    return rows.join("\n");
  }

  /** True when `from` reaches `to` through another layer it imports. */
  #reachesOtherwise(from: Layer, to: string): boolean {
    const seen = new Set<string>();
    const stack = from.imports.filter((name) => name !== to);
    while (stack.length > 0) {
      const name = stack.pop()!;
      if (name === to) return true;
      if (seen.has(name)) continue;
      seen.add(name);
      stack.push(...(this.#byName.get(name)?.imports ?? []));
    }
    return false;
  }
}

function id(name: string): string {
  return name.replace(/[^A-Za-z0-9]/g, "_");
}

/** `file` relative to `root`, with `/` separators. */
export function posixRelative(root: string, file: string): string {
  return relative(root, file).split("\\").join("/");
}
