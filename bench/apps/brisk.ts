// brisk: the app of brisk-app.ts, served over node:http.
import { listen } from "briskjs";
import { app } from "./brisk-app.ts";
import { HOST, port, ready } from "./common.ts";

await listen(app, { host: HOST, port: port() });
ready();
