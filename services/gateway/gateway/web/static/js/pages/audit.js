// Placeholder until this page is built.
import { h, pageHead } from "../ui.js";

export const title = "audit";

export async function render(main) {
  main.append(pageHead("audit"), h("p", {}, "Coming soon."));
}
