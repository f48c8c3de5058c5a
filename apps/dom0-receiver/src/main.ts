import '@dom0-updates/protocol';
