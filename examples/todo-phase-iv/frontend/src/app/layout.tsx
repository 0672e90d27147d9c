import type { ReactNode } from "react";

export const metadata = { title: "Todo", description: "Todo list with an AI assistant" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
