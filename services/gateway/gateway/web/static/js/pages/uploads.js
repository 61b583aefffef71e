// Placeholder until this page is built.
import { h, pageHead } from "../ui.js";

export const title = "uploads";

export async function render(main) {
  main.append(pageHead("uploads"), h("p", {}, "Coming soon."));
}
