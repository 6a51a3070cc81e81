// h3 v2: an H3 app with Zod through h3's Standard Schema helpers, served by h3's Node adapter (srvx).
import { getValidatedQuery, H3, readValidatedBody, serve } from "h3";
import { greetingList, greetings, HOST, ItemStore, port, ready } from "./common.ts";
import { Item, Page } from "./zod-schemas.ts";

const store = new ItemStore();
const app = new H3();

app.get("/greetings", () => greetingList);

app.get("/greetings/:lang", (event) => {
  const lang = event.context.params?.lang ?? "";
  const text = greetings.get(lang);
  if (text === undefined) {
    event.res.status = 404;
    return { detail: `No greeting for '${lang}'` };
  }
  return { lang, text };
});

app.post("/items", async (event) => {
  const item = await readValidatedBody(event, Item);
  event.res.status = 201;
  return store.add(item);
});

app.get("/items", async (event) => {
  const { limit, offset } = await getValidatedQuery(event, Page);
  return store.page(limit, offset);
});

const server = serve(app, { hostname: HOST, port: port(), silent: true });
await server.ready();
ready();
