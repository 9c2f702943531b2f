/**
 * The 8 MCP tools' names, as tools/list shows them: apart from the MCP server (`mcp.ts`) so that the
 * CLI's help can name them without loading the MCP SDK at every command's start.
 */
export const MCP_TOOLS = ["remember", "recall", "search_memories", "related_memories", "list_memories", "update_memory", "forget", "memory_stats"] as const;
