// The request schemas of the apps that validate with plain Zod and no framework glue (Express, h3): identical in
// both, so they live here once. Query values arrive as text, hence z.coerce.
import { z } from "zod";

export const Item = z.object({
  name: z.string().min(1).max(100),
  price: z.number().gt(0),
  tags: z.array(z.string()).max(10).default([]),
  description: z.string().optional(),
});

export const Page = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(10),
  offset: z.coerce.number().int().min(0).default(0),
});
