import { createHash } from "node:crypto";
import { z } from "zod";

export const FlagSchema = z.object({
  key: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lowercase letters, digits and dashes"),
  description: z.string().max(200).default(""),
  enabled: z.boolean().default(false),
  // share of users (0-100) that get the flag when it is enabled
  rollout: z.number().int().min(0).max(100).default(100),
  // users that always get the flag, whatever the rollout
  allow: z.array(z.string()).default([]),
});

export type Flag = z.infer<typeof FlagSchema>;

/** Stable bucket 0-99 for a user and a flag: the same user keeps the same answer. */
export function bucket(flagKey: string, user: string): number {
  const digest = createHash("sha256").update(`${flagKey}:${user}`).digest();
  return digest.readUInt32BE(0) % 100;
}

export function evaluate(flag: Flag, user: string | undefined): boolean {
  if (!flag.enabled) return false;
  if (user && flag.allow.includes(user)) return true;
  if (flag.rollout >= 100) return true;
  if (!user) return false;
  return bucket(flag.key, user) < flag.rollout;
}

export class FlagStore {
  private flags = new Map<string, Flag>();

  upsert(input: unknown): Flag {
    const flag = FlagSchema.parse(input);
    this.flags.set(flag.key, flag);
    return flag;
  }

  get(key: string): Flag | undefined {
    return this.flags.get(key);
  }

  remove(key: string): boolean {
    return this.flags.delete(key);
  }

  all(): Flag[] {
    return [...this.flags.values()].sort((a, b) => a.key.localeCompare(b.key));
  }

  evaluateAll(user: string | undefined): Record<string, boolean> {
    const out: Record<string, boolean> = {};
    for (const flag of this.all()) out[flag.key] = evaluate(flag, user);
    return out;
  }
}
