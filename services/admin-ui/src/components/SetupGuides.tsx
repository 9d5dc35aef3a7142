/** The steps each identity provider needs, with this list's SCIM base URL filled in (the token is the one Generate Token showed). */
export function SetupGuides({ baseUrl }: { baseUrl: string }) {
  const url = <code>{baseUrl}</code>;
  const token = <em>the Bearer Token from the Generate Token dialog</em>;
  return (
    <section aria-labelledby="guides-heading" className="guides">
      <h4 id="guides-heading">Setup guides</h4>
      <details>
        <summary>Okta</summary>
        <ol>
          <li>In the Okta Admin Console, go to <strong>Applications → Create App Integration</strong> and select <strong>SWA - Secure Web Authentication</strong>; name it (e.g. "Muster Staff Roster").</li>
          <li>On the <strong>General</strong> tab, <strong>App Settings → Edit</strong>, under <strong>Provisioning</strong> select <strong>SCIM</strong>.</li>
          <li>On the <strong>Provisioning</strong> tab, <strong>Integration → Edit</strong>: <strong>SCIM connector base URL</strong> {url}; <strong>Unique identifier field for users</strong> <code>userName</code>; <strong>Authentication Mode</strong> HTTP Header; <strong>Authorization</strong> {token}.</li>
          <li>Click <strong>Test Connector Configuration</strong>.</li>
          <li>Under <strong>Provisioning → To App</strong>, enable <strong>Create Users</strong>, <strong>Update User Attributes</strong> and <strong>Deactivate Users</strong>.</li>
          <li>On the <strong>Assignments</strong> tab, assign users or groups.</li>
        </ol>
      </details>
      <details>
        <summary>Microsoft Entra ID</summary>
        <p>SCIM provisioning from Entra ID needs a Microsoft Entra P1 or P2 licence; on other tiers use Directory Sync (Entra ID) instead.</p>
        <ol>
          <li>In the Azure portal, <strong>Microsoft Entra ID → Enterprise Applications → New application → Create your own application</strong>; choose <strong>Integrate any other application not found in the gallery</strong>.</li>
          <li><strong>Provisioning → Get started</strong>, <strong>Provisioning Mode</strong> Automatic.</li>
          <li>Under <strong>Admin Credentials</strong>: <strong>Tenant URL</strong> {url}; <strong>Secret Token</strong> {token}. Click <strong>Test Connection</strong>, then <strong>Save</strong>.</li>
          <li>Review the attribute mappings, assign users or groups under <strong>Users and groups</strong>, set <strong>Provisioning Status</strong> to On and save.</li>
        </ol>
        <p>Entra ID provisions about every 40 minutes; <strong>Provision on demand</strong> sends one user at once.</p>
      </details>
      <details>
        <summary>OneLogin</summary>
        <ol>
          <li><strong>Applications → Add App</strong>, choose a SCIM provisioner connector (e.g. <strong>SCIM Provisioner with SAML (SCIM v2 Core)</strong>).</li>
          <li>On <strong>Configuration</strong>: <strong>SCIM Base URL</strong> {url}; <strong>SCIM Bearer Token</strong> {token}. Enable the API connection.</li>
          <li>On <strong>Provisioning</strong>, enable provisioning (create, update, deactivate), then assign users or roles.</li>
        </ol>
      </details>
      <details>
        <summary>JumpCloud</summary>
        <ol>
          <li><strong>SSO Applications → Add New Application</strong>: search for "Custom SCIM" or create a <strong>Custom Application</strong>.</li>
          <li>Under <strong>Identity Management → Configuration</strong>: <strong>Base URL</strong> {url}; <strong>Token Key</strong> {token}. Click <strong>Test Connection</strong>.</li>
          <li>Enable user provisioning, then assign groups on the <strong>User Groups</strong> tab (a paid plan with Identity Management is needed).</li>
        </ol>
      </details>
      <details>
        <summary>PingOne</summary>
        <ol>
          <li><strong>Integrations → Provisioning → New connection</strong>, choose <strong>SCIM Outbound</strong>.</li>
          <li><strong>SCIM Base URL</strong> {url}; authentication <strong>OAuth 2 Bearer Token</strong> with {token}. Test the connection.</li>
          <li>Add a provisioning rule for the users or groups to send, and enable it.</li>
        </ol>
      </details>
    </section>
  );
}
