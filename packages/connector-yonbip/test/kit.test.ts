// The behavioural kit against the connector's own simulator (its testing.setup), as `qiao connectors test yonbip` runs it.
import { it } from 'vitest';
import { connectorKit } from '@qiao/core/testing';
import plugin from '@qiao/connector-yonbip';

connectorKit(plugin).define(it);
