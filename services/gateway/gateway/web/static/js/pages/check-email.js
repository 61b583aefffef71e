// Placeholder until this page is built.
import { h, pageHead } from "../ui.js";

export const title = "check-email";

export async function render(main) {
  main.append(pageHead("check-email"), h("p", {}, "Coming soon."));
}
