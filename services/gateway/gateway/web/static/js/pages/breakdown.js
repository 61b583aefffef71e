// Placeholder until this page is built.
import { h, pageHead } from "../ui.js";

export const title = "breakdown";

export async function render(main) {
  main.append(pageHead("breakdown"), h("p", {}, "Coming soon."));
}
