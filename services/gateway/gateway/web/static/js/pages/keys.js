// Placeholder until this page is built.
import { h, pageHead } from "../ui.js";

export const title = "keys";

export async function render(main) {
  main.append(pageHead("keys"), h("p", {}, "Coming soon."));
}
