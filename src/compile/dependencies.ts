import type { RequestContext } from "../context.ts";
import {
  type Dependency,
  type DependencyOverrides,
  type DependencyScope,
  dependency,
  isDependency,
} from "../dependency.ts";
import { BriskError, type ValidationIssue } from "../errors.ts";
import type { Incoming } from "../exchange.ts";
import type { Logger } from "../logger.ts";
import type { PathTemplate } from "../path.ts";
import { isStandardSchema } from "../schema/standard.ts";
import { compileSteps, record, type SourceKey, type Step } from "./sources.ts";

/**
 * The request as brisk's adapters give it, on a dependency's context under a symbol: for brisk's own dependencies
 * (security schemes) that read a header without documenting it as a parameter.
 */
export const INCOMING: unique symbol = Symbol("brisk.incoming");

/** Names a route's context already uses: a dependency cannot take one. */
const RESERVED = new Set([
  "params",
  "query",
  "headers",
  "cookies",
  "body",
  "request",
  "response",
  "background",
  "state",
  "signal",
  "lastEventId",
]);

/** Checks the names of a `deps` map where it is declared, so a mistake fails at registration. */
export function checkDependencyNames(deps: object | undefined, where: string): void {
  for (const [name, value] of Object.entries(deps ?? {})) {
    if (!isDependency(value)) {
      throw new BriskError(
        "BRISK_INVALID_DEPENDENCY",
        `${where}: deps.${name} is not a dependency (use dependency(...))`,
      );
    }
    if (RESERVED.has(name)) {
      throw new BriskError(
        "BRISK_INVALID_DEPENDENCY",
        `${where}: deps.${name} would hide the context's own "${name}"; choose another name`,
      );
    }
  }
}

/**
 * Checks every dependency a route uses, at registration: the names of their own `deps`, and that the path
 * parameters they declare are in the route's path.
 */
export function checkDependencyTree(
  roots: readonly Dependency<unknown>[],
  path: PathTemplate,
  name: string,
): void {
  const seen = new Set<Dependency<unknown>>();
  const visit = (dep: Dependency<unknown>) => {
    if (seen.has(dep)) return;
    seen.add(dep);
    checkDependencyNames(dep.spec.deps, `${name} (a dependency)`);
    const params = dep.spec.params;
    if (params !== undefined && !isStandardSchema(params)) {
      for (const key of Object.keys(params)) {
        if (!path.params.some((param) => param.name === key)) {
          throw new BriskError(
            "BRISK_UNKNOWN_PATH_PARAM",
            `${name}: a dependency declares params.${key}, which the path lacks`,
          );
        }
      }
    }
    if ((dep.spec.scope ?? "request") === "request" && isGeneratorFunction(dep.run)) {
      const inner = Object.values(dep.spec.deps ?? {}).find((child) => reachesFunctionScope(child));
      if (inner !== undefined) {
        throw new BriskError(
          "BRISK_DEPENDENCY_SCOPE",
          `${name}: a generator dependency of scope "request" (its code after yield runs after the response) ` +
            'needs one of scope "function", which is closed before the response; give it scope "function" too',
        );
      }
    }
    for (const child of Object.values(dep.spec.deps ?? {})) visit(child);
  };
  for (const root of roots) visit(root);
}

/** Whether `dep` or a dependency it needs has `scope: "function"`. */
function reachesFunctionScope(dep: Dependency<unknown>, seen = new Set<Dependency<unknown>>()): boolean {
  if (seen.has(dep)) return false;
  seen.add(dep);
  if (dep.spec.scope === "function") return true;
  return Object.values(dep.spec.deps ?? {}).some((child) => reachesFunctionScope(child, seen));
}

function isGeneratorFunction(run: unknown): boolean {
  const tag = Object.prototype.toString.call(run);
  return tag === "[object GeneratorFunction]" || tag === "[object AsyncGeneratorFunction]";
}

interface CompiledDependency {
  readonly steps: readonly Step[];
  readonly children: readonly (readonly [string, Dependency<unknown>])[];
  readonly run: (context: object) => unknown;
  readonly cache: boolean;
  readonly scope: DependencyScope;
}

const compiled = new WeakMap<Dependency<unknown>, CompiledDependency>();
const wrapped = new WeakMap<(context: never) => unknown, Dependency<unknown>>();

function compileDependency(dep: Dependency<unknown>): CompiledDependency {
  let plan = compiled.get(dep);
  if (plan === undefined) {
    checkDependencyNames(dep.spec.deps, "a dependency");
    plan = {
      steps: compileSteps(dep.spec),
      children: Object.entries(dep.spec.deps ?? {}),
      run: dep.run as (context: object) => unknown,
      cache: dep.spec.cache !== false,
      scope: dep.spec.scope ?? "request",
    };
    compiled.set(dep, plan);
  }
  return plan;
}

/** Everything the dependencies of one request share. */
export interface RequestScope {
  readonly incoming: Incoming;
  readonly context: RequestContext;
  readonly pathTexts: ReadonlyMap<string, readonly string[]>;
  /** The path parameters as the route's convertors make them (`{id:int}` → a number), for dependencies without `params`. */
  readonly pathValues: Readonly<Record<string, string | number>>;
  readonly body: unknown;
  /** Validation issues of every dependency and the route, in the order they were found. */
  readonly issues: ValidationIssue[];
}

/** A generator's code after `yield`, run with the request's error thrown in (or none). */
interface Exit {
  readonly scope: DependencyScope;
  readonly run: (error: unknown) => Promise<unknown> | unknown;
}

interface Solved {
  readonly ok: boolean;
  readonly value?: unknown;
}

const FAILED: Solved = { ok: false };

function isGenerator(value: unknown): value is Generator | AsyncGenerator {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Generator).next === "function" &&
    typeof (value as Generator).throw === "function" &&
    (Symbol.asyncIterator in value || Symbol.iterator in value)
  );
}

/**
 * Solves the dependencies of one request, FastAPI's way: depth first in declaration order, each at most once
 * (unless it opts out of the cache). A dependency whose inputs are invalid is skipped, its issues kept, and the
 * others still run; one that throws (a 401) ends the request at once, before the route's own inputs are checked.
 */
export class DependencySolver {
  readonly #scope: RequestScope;
  readonly #overrides: DependencyOverrides;
  readonly #values = new Map<Dependency<unknown>, Solved>();
  readonly #exits: Exit[] = [];

  constructor(scope: RequestScope, overrides: DependencyOverrides) {
    this.#scope = scope;
    this.#overrides = overrides;
  }

  async solve(dep: Dependency<unknown>): Promise<Solved> {
    const key = dep.origin ?? dep;
    const cached = this.#values.get(key);
    if (cached !== undefined) return cached;
    const replacement = this.#overrides.get(key);
    const actual =
      replacement === undefined ? dep : isDependency(replacement) ? replacement : wrap(replacement);
    const plan = compileDependency(actual);
    const solved = await this.#run(plan);
    if (plan.cache) this.#values.set(key, solved);
    return solved;
  }

  async #run(plan: CompiledDependency): Promise<Solved> {
    const values: Record<string, unknown> = {};
    let ok = true;
    for (const [name, child] of plan.children) {
      const solved = await this.solve(child);
      if (solved.ok) values[name] = solved.value;
      else ok = false;
    }
    const { incoming, context, pathTexts, body, issues } = this.#scope;
    const inputs: { [key in SourceKey]: unknown } = {
      params: this.#scope.pathValues,
      query: {},
      headers: {},
      cookies: {},
      body: undefined,
    };
    const before = issues.length;
    for (const step of plan.steps)
      record(inputs, step.key, await step.run(incoming, pathTexts, body), issues);
    if (!ok || issues.length > before) return FAILED;

    const dependencyContext = {
      ...inputs,
      ...values,
      get request() {
        return context.request;
      },
      get response() {
        return context.response;
      },
      get state() {
        return context.state;
      },
      get signal() {
        return context.signal;
      },
      background: (task: () => unknown) => context.background(task),
      [INCOMING]: incoming,
    };
    const result = plan.run(dependencyContext);
    if (!isGenerator(result)) return { ok: true, value: await result };
    const first = await result.next();
    if (!first.done) {
      this.#exits.push({
        scope: plan.scope,
        run: (error) => (error === undefined ? result.next() : result.throw(error)),
      });
    }
    return { ok: true, value: first.value };
  }

  /**
   * Runs the code after the `yield` of the `scope: "function"` generators, the last entered first, once the
   * handler has returned or thrown and before the response is written. `error` (what the handler or validation
   * failed with) is thrown into them. What one throws replaces the error for those after it, and is returned: the
   * request then fails with it (a commit that failed is the response, never the handler's 200). Returns `error`
   * itself when they all let it through or rethrow it, and undefined when there was none and they all succeeded.
   */
  async exitFunctionScope(error: unknown, logger: Logger, where: string): Promise<unknown> {
    let current = error;
    for (let index = this.#exits.length - 1; index >= 0; index--) {
      const exit = this.#exits[index]!;
      if (exit.scope !== "function") continue;
      this.#exits.splice(index, 1);
      try {
        warnIfYieldedAgain(await exit.run(current), logger, where);
      } catch (thrown) {
        current = thrown;
      }
    }
    return current;
  }

  /**
   * Runs the code after each remaining generator's `yield`, the last entered first. `error` (what the request
   * failed with) is thrown into them, so a `catch` can see it; whatever they throw is logged, since the response
   * is gone.
   */
  async exit(error: unknown, logger: Logger, where: string): Promise<void> {
    for (const exit of this.#exits.splice(0).reverse()) {
      try {
        warnIfYieldedAgain(await exit.run(error), logger, where);
      } catch (thrown) {
        if (thrown !== error) logger.error(`${where}: a dependency's cleanup failed`, thrown);
      }
    }
  }
}

/** A generator that yields a second time has its code after the first `yield` cut short: worth a log line. */
function warnIfYieldedAgain(after: unknown, logger: Logger, where: string): void {
  if (typeof after === "object" && after !== null && (after as IteratorResult<unknown>).done === false) {
    logger.error(`${where}: a dependency yielded more than once; only its first value is used`);
  }
}

function wrap(run: (context: never) => unknown): Dependency<unknown> {
  let dep = wrapped.get(run);
  if (dep === undefined) {
    dep = dependency(run as (context: object) => unknown);
    wrapped.set(run, dep);
  }
  return dep;
}
