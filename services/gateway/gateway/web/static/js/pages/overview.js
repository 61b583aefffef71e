// Placeholder until this page is built.
import { h, pageHead } from "../ui.js";

export const title = "overview";

export async function render(main) {
  main.append(pageHead("overview"), h("p", {}, "Coming soon."));
}
