/**
 * The CDK app (`cdk.json` points here). Deploying models arrives with the deploy work (issue 3);
 * until then the app synthesizes an empty assembly so `npx cdk synth` runs offline.
 */
import { App } from 'aws-cdk-lib';

const app = new App();
app.synth();
