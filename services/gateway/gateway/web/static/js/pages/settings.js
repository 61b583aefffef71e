// Placeholder until this page is built.
import { h, pageHead } from "../ui.js";

export const title = "settings";

export async function render(main) {
  main.append(pageHead("settings"), h("p", {}, "Coming soon."));
}
