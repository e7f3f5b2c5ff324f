"use server";
// Server actions. Next's client sends them without a proof, so each checks the session's device
// (sessionDevice) before doing anything on the user's behalf.
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { app } from "@/lib/server";
import { sessionDevice } from "@/lib/session";

export async function signOut(): Promise<void> {
  const jar = await cookies();
  const current = await sessionDevice();
  if (current.state !== "signed-out") app().sessions.end(current.session.id);
  jar.delete("sid");
  redirect("/");
}
