import { RequestContext } from "../context.ts";
import { RequestValidationError, type ValidationIssue } from "../errors.ts";
import type { Incoming, Outgoing } from "../exchange.ts";
import { decodeSegment } from "../internal/percent.ts";
import type { PathTemplate } from "../path.ts";
import {
  type AcceptOptions,
  CLOSE,
  compileMessageCodec,
  type SocketPort,
  WebSocketConnection,
  type WebSocketSpec,
} from "../websocket.ts";
import { checkDependencyNames, DependencySolver } from "./dependencies.ts";
import type { RouteOptions } from "./plan.ts";
import { compileSerializer } from "./response.ts";
import { compileSteps, record } from "./sources.ts";

/** A WebSocket route, compiled once. */
export interface CompiledWebSocketRoute {
  readonly path: PathTemplate;
  readonly spec: WebSocketSpec;
  /**
   * Runs the route for a handshake. Dependencies are solved and the inputs checked first: an error there (a 401
   * from a security scheme) refuses the handshake with that HTTP response, which is returned. Invalid inputs are
   * answered after accepting, with `{"detail": [...]}` and close code 1008 (FastAPI's). Otherwise the handler owns
   * the connection; the promise settles when it is done.
   */
  run(
    incoming: Incoming,
    params: readonly string[],
    accept: (options: AcceptOptions) => Promise<SocketPort>,
    refuse: (error: unknown, incoming: Incoming) => Outgoing | Promise<Outgoing>,
  ): Promise<Outgoing | undefined>;
}

/** Compiles a WebSocket route. */
export function compileWebSocketRoute(
  path: PathTemplate,
  spec: WebSocketSpec,
  handler: (context: never) => unknown,
  options: RouteOptions,
): CompiledWebSocketRoute {
  const name = `WEBSOCKET ${path.template}`;
  checkDependencyNames(spec.deps, name);
  const effects = [...options.dependencies, ...(spec.dependencies ?? [])];
  const named = Object.entries(spec.deps ?? {});
  const steps = compileSteps(spec);
  const codec = compileMessageCodec(spec, compileSerializer(name, spec.send), options.messageLimit);
  const { logger, overrides } = options;
  const run = handler as (context: RequestContext) => unknown;

  return {
    path,
    spec,
    async run(incoming, params, accept, refuse) {
      const context = new RequestContext(incoming, options.state);
      const pathTexts = new Map<string, string[]>();
      const pathValues: Record<string, string | number> = {};
      path.params.forEach((param, index) => {
        const text = decodeSegment(params[index] ?? "");
        pathTexts.set(param.name, [text]);
        pathValues[param.name] = param.convert(text);
      });
      context.params = pathValues;
      const issues: ValidationIssue[] = [];
      const solver = new DependencySolver(
        { incoming, context, pathTexts, pathValues, body: undefined, issues },
        overrides,
      );
      try {
        for (const effect of effects) await solver.solve(effect);
        for (const [key, dep] of named) {
          const solved = await solver.solve(dep);
          if (solved.ok) (context as unknown as Record<string, unknown>)[key] = solved.value;
        }
        for (const step of steps)
          record(context, step.key, await step.run(incoming, pathTexts, undefined), issues);
      } catch (error) {
        await solver.exit(error, logger, name);
        return refuse(error, incoming);
      }
      let port: SocketPort;
      try {
        port = await accept({ messageLimit: codec.messageLimit });
      } catch (error) {
        // The handshake failed or the client left: there is nobody to answer, only cleanup to run.
        logger.debug(`${name}: the client left before the handshake completed`);
        await solver.exit(error, logger, name);
        return undefined;
      }
      if (issues.length > 0) {
        await port.send(JSON.stringify({ detail: issues }));
        port.close(CLOSE.policyViolation, "Invalid request");
        await solver.exit(new RequestValidationError(issues), logger, name);
        return undefined;
      }
      const socket = new WebSocketConnection(port, codec, (what, error) =>
        logger.error(`${name}: ${what}`, error),
      );
      (context as unknown as { socket: WebSocketConnection }).socket = socket;
      let failure: unknown;
      try {
        await run(context);
        socket.close(CLOSE.normal);
      } catch (error) {
        failure = error;
        logger.error(`${name}: the handler failed`, error);
        socket.close(CLOSE.internalError, "Internal error");
      } finally {
        await solver.exit(failure, logger, name);
      }
      return undefined;
    },
  };
}
