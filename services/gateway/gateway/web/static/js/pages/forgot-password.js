// Placeholder until this page is built.
import { h, pageHead } from "../ui.js";

export const title = "forgot-password";

export async function render(main) {
  main.append(pageHead("forgot-password"), h("p", {}, "Coming soon."));
}
