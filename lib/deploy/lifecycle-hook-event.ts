import { z } from 'zod';

/** The event CodeDeploy invokes a lifecycle hook function with (BeforeAllowTraffic, AfterAllowTraffic). */
export const LifecycleHookEventSchema = z.object({
  DeploymentId: z.string().min(1),
  LifecycleEventHookExecutionId: z.string().min(1),
});
/** The event CodeDeploy invokes a lifecycle hook function with. */
export type LifecycleHookEvent = z.infer<typeof LifecycleHookEventSchema>;
