// The behavioural kit against the connector's own simulator (its testing.setup), as `qiao connectors test okki` runs it.
import { it } from 'vitest';
import { connectorKit } from '@qiao/core/testing';
import plugin from '@qiao/connector-okki';

connectorKit(plugin).define(it);
