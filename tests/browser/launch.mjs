// Headless Chromium as every browser test starts it (CHROMIUM, default
// /usr/bin/chromium): no sandbox, no background traffic.
import { chromium } from "playwright-core";

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
           "--disable-quic", "--disable-component-update", "--disable-sync"],
  });
}
