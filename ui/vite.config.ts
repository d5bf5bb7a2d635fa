import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The studio's web UI. It is served from the binary (Tauri embeds `dist/`), never from a
// development server, so the build is the only mode; `base: "./"` keeps asset paths relative.
export default defineConfig({
  base: "./",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "safari16",
    chunkSizeWarningLimit: 4000,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
});
