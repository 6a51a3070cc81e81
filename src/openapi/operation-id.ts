import type { RouteDefinition } from "../compile/plan.ts";
import { BriskError } from "../errors.ts";

/** One documented method of a route, with the operationId and summary it is documented under. */
export interface Operation {
  readonly route: RouteDefinition;
  readonly method: string;
  readonly operationId: string;
  readonly summary: string | undefined;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

const pascal = (text: string) =>
  text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join("");

/** A handler's own name, when it has a usable one (arrow functions passed inline have none). */
function handlerName(route: RouteDefinition): string | undefined {
  const { name } = route.handler;
  return IDENTIFIER.test(name) && name !== "anonymous" ? name : undefined;
}

/** `getItems`, `getItemsByItemId`, `postItems`: readable names for generated clients (FastAPI's are not). */
function fromPath(method: string, route: RouteDefinition): string {
  const words = route.path.openapiPath
    .split("/")
    .filter(Boolean)
    .map((segment) => {
      const param = /^\{(.+)\}$/.exec(segment);
      return param === null ? pascal(segment) : `By${pascal(param[1]!)}`;
    });
  return `${method.toLowerCase()}${words.join("") || "Root"}`;
}

/** `listItems` → `List Items`. */
function titleCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .split(/[_\s]+/)
    .filter(Boolean)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join(" ");
}

/**
 * Gives every documented operation its operationId: the route's own (suffixed with the method on a route that
 * serves several), else the handler's name, else one made from the method and path. No two operations share one:
 * a clash between ids the routes chose is an error, and a generated id that is taken gets a number.
 */
export function assignOperationIds(routes: readonly RouteDefinition[]): Operation[] {
  const planned = routes.flatMap((route) => {
    // HEAD is answered for every GET route and documented by none, as in FastAPI.
    const methods = route.methods.filter((method) => method !== "HEAD");
    return methods.map((method) => {
      const name = handlerName(route);
      const own = route.spec.operationId;
      const several = methods.length > 1;
      const explicit = own === undefined ? undefined : several ? `${own}_${method.toLowerCase()}` : own;
      const generated =
        name === undefined
          ? fromPath(method, route)
          : several
            ? `${method.toLowerCase()}${pascal(name)}`
            : name;
      return { route, method, explicit, generated, summary: route.spec.summary ?? (name && titleCase(name)) };
    });
  });
  const taken = new Set<string>();
  for (const { explicit, method, route } of planned) {
    if (explicit === undefined) continue;
    if (taken.has(explicit)) {
      throw new BriskError(
        "BRISK_DUPLICATE_OPERATION_ID",
        `operationId "${explicit}" (${method} ${route.path.template}) is used by another route too`,
      );
    }
    taken.add(explicit);
  }
  return planned.map(({ route, method, explicit, generated, summary }) => {
    let operationId = explicit;
    if (operationId === undefined) {
      operationId = generated;
      for (let n = 2; taken.has(operationId); n++) operationId = `${generated}${n}`;
      taken.add(operationId);
    }
    return { route, method, operationId, summary: summary || undefined };
  });
}
