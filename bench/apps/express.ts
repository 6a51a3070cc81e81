// Express 5 with express.json() and Zod safeParse; ETag and X-Powered-By off, the usual production settings.
import express from "express";
import { greetingList, greetings, HOST, ItemStore, port, ready } from "./common.ts";
import { Item, Page } from "./zod-schemas.ts";

const store = new ItemStore();
const app = express();
app.disable("etag");
app.disable("x-powered-by");
app.use(express.json());

app.get("/greetings", (_req, res) => {
  res.json(greetingList);
});

app.get("/greetings/:lang", (req, res) => {
  const { lang } = req.params;
  const text = greetings.get(lang);
  if (text === undefined) res.status(404).json({ detail: `No greeting for '${lang}'` });
  else res.json({ lang, text });
});

app.post("/items", (req, res) => {
  const result = Item.safeParse(req.body);
  if (!result.success) res.status(422).json({ issues: result.error.issues });
  else res.status(201).json(store.add(result.data));
});

app.get("/items", (req, res) => {
  const result = Page.safeParse(req.query);
  if (!result.success) res.status(422).json({ issues: result.error.issues });
  else res.json(store.page(result.data.limit, result.data.offset));
});

app.listen(port(), HOST, (error) => {
  if (error) throw error;
  ready();
});
