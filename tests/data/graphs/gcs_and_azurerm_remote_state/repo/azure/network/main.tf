terraform {
  backend "azurerm" {
    resource_group_name  = "tfstate-rg"
    storage_account_name = "acmetfstate"
    container_name       = "tfstate"
    key                  = "azure/network.tfstate"
  }
}

provider "azurerm" {
  features {}
}

resource "azurerm_virtual_network" "main" {
  name                = "prod-vnet"
  location            = "westeurope"
  resource_group_name = "prod-rg"
  address_space       = ["10.30.0.0/16"]
}

output "vnet_id" {
  value = azurerm_virtual_network.main.id
}
