/** @type {import('next').NextConfig} */
const nextConfig = {
  // Phase IV: emit .next/standalone so the container image needs no node_modules.
  output: 'standalone',
  reactStrictMode: true,
  poweredByHeader: false,
};

module.exports = nextConfig;
