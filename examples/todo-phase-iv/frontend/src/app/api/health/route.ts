import { NextResponse } from "next/server";

export const dynamic = "force-dynamic";

// Liveness/readiness endpoint for the frontend container (port 3000).
export function GET() {
  return NextResponse.json({ status: "ok", uptime: process.uptime() });
}
