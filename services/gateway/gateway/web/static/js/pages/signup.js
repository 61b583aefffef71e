// Placeholder until this page is built.
import { h, pageHead } from "../ui.js";

export const title = "signup";

export async function render(main) {
  main.append(pageHead("signup"), h("p", {}, "Coming soon."));
}
