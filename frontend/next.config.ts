import type { NextConfig } from "next";

// A static export: the `api` service (and the distributed shape's gateway) serve
// the files in out/ at /. Pages take their parameters from the query string.
const config: NextConfig = {
  output: "export",
  trailingSlash: true,
  images: { unoptimized: true },
  reactStrictMode: true,
  poweredByHeader: false,
  // The project's scripts run `tsc --noEmit` (and ESLint) before the build.
  typescript: { ignoreBuildErrors: true },
};

export default config;
